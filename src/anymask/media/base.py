"""The frame-source interface shared by videos and image folders, with a bounded LRU of decoded frames."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import MediaError

DEFAULT_CACHE_BYTES = 512 * 1024 * 1024


def natural_key(text: str) -> list:
    """Sort key that orders frame_2 before frame_10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


class FrameCache:
    """A thread-safe LRU of decoded frames bounded by total bytes."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, index: int) -> np.ndarray | None:
        with self._lock:
            frame = self._frames.get(index)
            if frame is not None:
                self._frames.move_to_end(index)
            return frame

    def put(self, index: int, frame: np.ndarray) -> None:
        with self._lock:
            if index in self._frames:
                return
            self._frames[index] = frame
            self._bytes += frame.nbytes
            while self._bytes > self.max_bytes and len(self._frames) > 1:
                _, old = self._frames.popitem(last=False)
                self._bytes -= old.nbytes

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def nbytes(self) -> int:
        return self._bytes


class FrameSource:
    """Random access to RGB uint8 frames by index. Subclasses implement `_read` and the metadata."""

    path: Path
    fps: float

    def __init__(self, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.cache = FrameCache(cache_bytes)
        self.warnings: list[str] = []
        self._thumbnails: dict[tuple[int, int], np.ndarray] = {}

    def __len__(self) -> int:
        raise NotImplementedError

    def frame_size(self, index: int = 0) -> tuple[int, int]:
        """(height, width) of frame `index`."""
        raise NotImplementedError

    def frame_name(self, index: int) -> str:
        """A file name for the frame in exported datasets (the image's own name for folders)."""
        return f"{index:06d}.jpg"

    def _read(self, index: int) -> np.ndarray:
        raise NotImplementedError

    def _read_thumbnail(self, index: int, max_side: int) -> np.ndarray:
        return shrink(self.frame(index), max_side)

    def check_index(self, index: int) -> int:
        count = len(self)
        if not isinstance(index, (int, np.integer)) or not 0 <= int(index) < count:
            raise IndexError(f"{self.path}: frame {index} is outside the video (0..{count - 1})")
        return int(index)

    def frame(self, index: int) -> np.ndarray:
        """Frame `index` as an HxWx3 uint8 RGB array (read-only; copy before editing)."""
        index = self.check_index(index)
        cached = self.cache.get(index)
        if cached is not None:
            return cached
        frame = self._read(index)
        frame.setflags(write=False)
        self.cache.put(index, frame)
        return frame

    def thumbnail(self, index: int, max_side: int = 128) -> np.ndarray:
        """A small RGB picture near frame `index` for a timeline (cheap: may come from the nearest key frame)."""
        index = self.check_index(index)
        key = (index, max_side)
        if key not in self._thumbnails:
            self._thumbnails[key] = self._read_thumbnail(index, max_side)
        return self._thumbnails[key]

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"


def shrink(frame: np.ndarray, max_side: int) -> np.ndarray:
    height, width = frame.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return frame
    picture = Image.fromarray(frame).resize(
        (max(1, round(width * scale)), max(1, round(height * scale))), Image.BILINEAR
    )
    return np.asarray(picture)


def media_error(path: Path, problem: str, frame: int | None = None) -> MediaError:
    where = f"{path}" + (f", frame {frame}" if frame is not None else "")
    return MediaError(f"{where}: {problem}")
