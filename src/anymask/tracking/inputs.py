"""Frames to model inputs for tracking: the official video predictor's resize, with read-ahead in a thread."""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image

from ..sam2.transforms import IMAGENET_MEAN, IMAGENET_STD

_MEAN = torch.tensor(IMAGENET_MEAN, dtype=torch.float32).view(3, 1, 1)
_STD = torch.tensor(IMAGENET_STD, dtype=torch.float32).view(3, 1, 1)


def video_frame_input(frame: np.ndarray, resolution: int = 1024) -> torch.Tensor:
    """(3, R, R) float32: Pillow's default (bicubic) resize of the uint8 frame, /255, ImageNet normalisation."""
    resized = np.asarray(Image.fromarray(np.asarray(frame)).resize((resolution, resolution)))
    tensor = torch.from_numpy(resized / 255.0).permute(2, 0, 1).float()
    return (tensor - _MEAN) / _STD


class FrameInputs:
    """Model inputs by frame index, prepared ahead in a background thread while the model works."""

    def __init__(self, source, resolution: int = 1024, read_ahead: int = 2) -> None:
        self.source = source
        self.resolution = resolution
        self.read_ahead = read_ahead
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="anymask-frames")
        self._pending: OrderedDict[int, Future] = OrderedDict()
        self._lock = threading.Lock()

    def _load(self, index: int) -> torch.Tensor:
        return video_frame_input(self.source.frame(index), self.resolution)

    def get(self, index: int, upcoming: list[int] | None = None) -> torch.Tensor:
        """The input for `index` (MediaError if it cannot be decoded); starts preparing `upcoming` frames."""
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
