"""Keep glibc's heap from fragmenting under the tracker's large, repeatedly freed tensors."""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
_applied = False


def limit_heap_fragmentation(mmap_threshold: int = 64 * 1024, arena_max: int = 2) -> bool:
    """Serve large blocks with mmap (returned to the OS on free) and cap malloc arenas; glibc only.

    Without this, glibc raises its mmap threshold after big frees and serves later multi-MB tensors from
    per-thread heaps that fragment: tracking a video grew RSS by ~3.5 MB per frame; with it RSS is flat.
    Returns whether the settings were applied. Same effect as MALLOC_MMAP_THRESHOLD_ / MALLOC_ARENA_MAX.
    """
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (e.g. musl)
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _applied = bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_ARENA_MAX, arena_max))
    return _applied
