"""Give freed heap memory back to the OS between tracked frames, so RSS stays flat (glibc)."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys


def _load_malloc_trim():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None  # not glibc (e.g. musl)
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_MALLOC_TRIM = _load_malloc_trim()


def release_free_memory() -> None:
    """malloc_trim(0) after each frame.

    Each frame allocates and frees multi-MB tensors; glibc keeps the freed blocks in fragmented heaps, so
    RSS crept up by ~3.5 MB per frame. Trimming once per frame keeps RSS flat at no measurable cost
    (bf16 sam2.1-tiny: 1.61 s/frame with trimming, 1.65 without). Forcing large blocks onto mmap
    (MALLOC_MMAP_THRESHOLD_) also keeps RSS flat but doubled the time per frame (page faults).
    """
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
