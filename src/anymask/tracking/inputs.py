"""Frames to model inputs and image features for tracking: the official resize, read-ahead in a thread."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..allocator import large_blocks_reused
from ..sam2.model import ImageFeatures
from ..sam2.transforms import IMAGENET_MEAN, IMAGENET_STD

_MEAN = torch.tensor(IMAGENET_MEAN, dtype=torch.float32).view(3, 1, 1)
_STD = torch.tensor(IMAGENET_STD, dtype=torch.float32).view(3, 1, 1)
# value / 255 computed in float64 and rounded once to float32, as the official loader does
_UNIT = torch.from_numpy(np.arange(256) / 255.0).float()
_TABLES: dict[torch.device, torch.Tensor] = {}


def resized_frame(frame: np.ndarray, resolution: int = 1024) -> torch.Tensor:
    """(3, R, R) uint8: Pillow's default (bicubic) resize of the frame (the official video predictor's)."""
    resized = np.asarray(Image.fromarray(np.asarray(frame)).resize((resolution, resolution)))
    return torch.from_numpy(np.ascontiguousarray(resized.transpose(2, 0, 1)))


def normalize_frames(frames: torch.Tensor) -> torch.Tensor:
    """uint8 (..., 3, R, R) on any device -> float32 model input: /255 then ImageNet normalisation.

    Gives the same float32 values as the official float64 path: on the CPU by that path in numpy
    (single-threaded, so the frame loader thread starts no second OpenMP team beside the model's; each
    step is correctly rounded in numpy and torch alike), elsewhere by a 256-entry table (no float64 on
    some GPUs), so only the uint8 frame crosses to the GPU.
    """
    if frames.is_floating_point():
        return frames  # already normalised (by the loader thread, for a CPU model)
    device = frames.device
    if device.type == "cpu":
        unit = (frames.numpy().astype(np.float64) / 255.0).astype(np.float32)
        return torch.from_numpy((unit - _MEAN.numpy()) / _STD.numpy())
    table = _TABLES.get(device)
    if table is None:
        table = _TABLES[device] = _UNIT.to(device)
    return (table[frames.long()] - _MEAN.to(device)) / _STD.to(device)


def video_frame_input(frame: np.ndarray, resolution: int = 1024) -> torch.Tensor:
    """(3, R, R) float32 model input of a frame, on the CPU."""
    return normalize_frames(resized_frame(frame, resolution))


class FrameInputs:
    """Model inputs by frame index, prepared ahead in a background thread while the model works."""

    def __init__(self, source, resolution: int = 1024, read_ahead: int = 2, normalize: bool = True) -> None:
        """normalize: the loader thread also normalises (CPU models); else it hands over uint8 frames,
        which `normalize_frames` turns into the input on the model's device."""
        self.source = source
        self.normalize = normalize
        self.resolution = resolution
        self.read_ahead = read_ahead
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="anymask-frames")
        self._pending: OrderedDict[int, Future] = OrderedDict()
        self._lock = threading.Lock()

    def _load(self, index: int) -> torch.Tensor:
        """Runs in the loader thread: numpy and Pillow only. A torch op here would start a second OpenMP
        team that competes with the model's threads for the same cores (measured: every GEMM of the
        tracking step 15-25% slower on 2 cores)."""
        frame = resized_frame(self.source.frame(index), self.resolution)
        return normalize_frames(frame) if self.normalize else frame

    def get(self, index: int, upcoming: list[int] | None = None) -> torch.Tensor:
        """Frame `index` resized (MediaError if it cannot be decoded); starts preparing `upcoming` frames."""
        with self._lock:
            future = self._pending.pop(index, None)
            for nxt in (upcoming or [])[: self.read_ahead]:
                if nxt not in self._pending and nxt != index:
                    self._pending[nxt] = self._pool.submit(self._load, nxt)
            while len(self._pending) > self.read_ahead:
                _, stale = self._pending.popitem(last=False)
                stale.cancel()
        return future.result() if future is not None else self._load(index)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class FrameFeatures:
    """The image features of the last KEEP frames used, encoded on demand (freed memory reused between them)."""

    KEEP = 3

    def __init__(self, inputs: FrameInputs, encoder: Callable[[torch.Tensor], ImageFeatures], device) -> None:
        self.inputs, self.encoder, self.device = inputs, encoder, device
        self._cache: OrderedDict[int, ImageFeatures] = OrderedDict()

    @property
    def frames(self) -> list[int]:
        """Frames whose features are cached, least recently used first."""
        return list(self._cache)

    @torch.inference_mode()
    def get(self, frame: int, upcoming: list[int] | None = None) -> ImageFeatures:
        """Frame `frame`'s features (MediaError if it cannot be decoded); starts preparing `upcoming` frames."""
        if frame in self._cache:
            self._cache.move_to_end(frame)
            return self._cache[frame]
        batch = normalize_frames(self.inputs.get(frame, upcoming).unsqueeze(0).to(self.device))
        with large_blocks_reused():
            features = self._cache[frame] = self.encoder(batch)
        while len(self._cache) > self.KEEP:
            self._cache.popitem(last=False)
        return features


def mask_input(mask: np.ndarray, size: int, device) -> torch.Tensor:
    """A binary (H, W) mask as a (1, 1, size, size) float prompt at the model's input size."""
    tensor = torch.as_tensor(mask.astype(bool), dtype=torch.float32, device=device)[None, None]
    if tensor.shape[-2:] != (size, size):
        tensor = F.interpolate(tensor, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        tensor = (tensor >= 0.5).float()
    return tensor
