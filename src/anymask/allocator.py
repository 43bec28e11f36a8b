"""The process heap (glibc malloc): image embeddings reuse freed memory; tracking gives it back after each frame.

glibc hands every block over 32 MB (in any thread but the main one: over its 64 MB arena heaps) to its own
`mmap` and unmaps it on free. PyTorch allocates a fresh output per operation, so each image embedding
faulted in and zeroed about 560-760 MB of new pages, 9-11% of set_image's time on two cores (fp32 and
bf16 alike, old and new alternating in one process). PyTorch's CPU tuning guide suggests jemalloc or
tcmalloc for this; these settings do the same without a preloaded library:

- at `import anymask`, before any thread exists: one arena for all threads (so the app's model thread and
  a tracking run use the main heap, which can hold large blocks), and up to TRIM_THRESHOLD of free heap
  kept rather than returned to the OS;
- while an image is embedded (`large_blocks_reused`), blocks up to LARGE_BLOCK come from that heap; at
  other times blocks over SMALL_BLOCK are mapped and unmapped as glibc does by default.

So between images resident memory stays near the last embedding's peak (about 0.4 GB more than glibc's
defaults leave); the peak itself rises by 0.1-0.25 GB. Tracking calls `release_free_memory` after every
frame, which gives all free heap back, so RSS stays flat over any length of video. Linux with glibc only;
set ANYMASK_KEEP_FREED_MEMORY=0 to keep glibc's defaults.
"""

from __future__ import annotations

import ctypes
import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

OPT_OUT = "ANYMASK_KEEP_FREED_MEMORY"
ARENAS = 1
TRIM_THRESHOLD = 1 << 30
SMALL_BLOCK = 32 << 20  # glibc's largest dynamic mmap threshold, where its default settles under PyTorch
LARGE_BLOCK = 512 << 20  # above the largest tensor of an image embedding (151 MB)

# mallopt parameter numbers, from glibc's malloc.h
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8


@cache
def _libc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


@cache
def keep_freed_memory() -> bool:
    """Apply the process-wide settings once; whether they are in effect (glibc, not opted out)."""
    libc = _libc()
    if libc is None or os.environ.get(OPT_OUT, "1").strip() == "0":
        return False
    settings = ((_M_ARENA_MAX, ARENAS), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD), (_M_MMAP_THRESHOLD, SMALL_BLOCK))
    return all(libc.mallopt(parameter, value) == 1 for parameter, value in settings)


@contextmanager
def large_blocks_reused() -> Iterator[None]:
    """Within: freed blocks up to LARGE_BLOCK stay in the heap, for the rest of this call and the next."""
    libc = _libc()
    if libc is None or not keep_freed_memory():
        yield
        return
    libc.mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK)
    try:
        yield
    finally:
        libc.mallopt(_M_MMAP_THRESHOLD, SMALL_BLOCK)


def release_free_memory() -> None:
    """malloc_trim(0): give all free heap back to the OS (after each tracked frame).

    Each frame allocates and frees multi-MB tensors; glibc keeps the freed blocks in fragmented heaps, so
    RSS crept up by ~3.5 MB per frame. Trimming once per frame keeps RSS flat at no measurable cost
    (bf16 sam2.1-tiny: 1.61 s/frame with trimming, 1.65 without).
    """
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
