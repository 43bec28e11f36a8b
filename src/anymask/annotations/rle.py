"""COCO run-length encoding of binary masks (column-major, compressed counts) without pycocotools."""

from __future__ import annotations

import numpy as np


def _mask_runs(mask: np.ndarray) -> np.ndarray:
    """Uncompressed COCO counts (int64): alternating run lengths of 0s and 1s in column-major order, 0s first."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    if flat.size == 0:
        return np.zeros(0, dtype=np.int64)
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    runs = np.diff(np.concatenate([[0], changes, [flat.size]]))
    return runs if not flat[0] else np.concatenate([[0], runs])


MAX_CHUNKS = 12  # 5 bits a character: 60 bits, more than any real count needs, and within int64


def _compress(counts) -> str:
    """COCO's compact string form of counts (LEB128-like, 5 bits a character, deltas after the 2nd run).

    Vectorised: each value's character count is the smallest k with -2^(5k-1) <= value < 2^(5k-1), every
    character but a value's last has the 0x20 continuation bit, and characters are offset by 48."""
    counts = np.asarray(counts, dtype=np.int64)
    if counts.size == 0:
        return ""
    values = counts.copy()
    values[3:] -= counts[1:-2]
    chunks = np.ones(values.size, dtype=np.int64)
    for k in range(1, MAX_CHUNKS):
        limit = np.int64(1) << (5 * k - 1)
        chunks += (values < -limit) | (values >= limit)
    owner = np.repeat(np.arange(values.size), chunks)
    first = np.cumsum(chunks) - chunks
    place = np.arange(owner.size) - first[owner]
    characters = (values[owner] >> (5 * place)) & 0x1F
    characters |= np.where(place < chunks[owner] - 1, 0x20, 0)
    return (characters + 48).astype(np.uint8).tobytes().decode("ascii")


def _decompress(text: str) -> np.ndarray:
    """The counts of a compact RLE string (int64); ValueError for a character outside it or a cut value."""
    try:
        raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
    except UnicodeEncodeError:
        raise ValueError("invalid non-ASCII character in RLE string") from None
    if raw.size == 0:
        return np.zeros(0, dtype=np.int64)
    bad = np.flatnonzero((raw < 0) | (raw >= 64))
    if bad.size:
        raise ValueError(f"invalid character {text[bad[0]]!r} in RLE string")
    last = (raw & 0x20) == 0  # the last character of a value
    if not last[-1]:
        raise ValueError("truncated RLE string")
    first = np.flatnonzero(np.concatenate([[True], last[:-1]]))
    owner = np.cumsum(np.concatenate([[0], last[:-1]]))
    place = np.arange(raw.size) - first[owner]
    if place.max() >= MAX_CHUNKS:
        raise ValueError("RLE string holds a value too large for a count")
    values = np.add.reduceat((raw & 0x1F) << (5 * place), first)
    ends = np.flatnonzero(last)
    negative = (raw[ends] & 0x10) != 0
    values[negative] -= np.int64(1) << (5 * (place[ends][negative] + 1))
    counts = values  # deltas after the 2nd run: counts[m] = values[m] + counts[m - 2]
    if counts.size > 3:
        counts[3::2] = np.cumsum(values[3::2]) + counts[1]
    if counts.size > 4:
        counts[4::2] = np.cumsum(values[4::2]) + counts[2]
    return counts


def encode(mask: np.ndarray) -> dict:
    """{"size": [h, w], "counts": str}, readable by pycocotools.mask.decode."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": _compress(_mask_runs(mask))}


def decode(rle: dict) -> np.ndarray:
    """A bool HxW mask from compressed (str) or uncompressed (list) COCO RLE; ValueError if malformed."""
    try:
        height, width = (int(v) for v in rle["size"])
        counts = rle["counts"]
    except (KeyError, TypeError, ValueError):
        raise ValueError("RLE must have 'size' [h, w] and 'counts'") from None
    if height < 0 or width < 0:
        raise ValueError(f"RLE size {rle['size']} is negative")
    runs = _runs(counts)
    if (runs < 0).any() or (runs > height * width).any():
        raise ValueError(f"RLE counts must be runs from 0 to {height * width} pixels (the image's size)")
    if int(runs.sum()) != height * width:
        raise ValueError(f"RLE counts cover {int(runs.sum())} pixels, expected {height * width}")
    values = np.zeros(len(runs), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, runs)
    return flat.reshape((height, width), order="F")


def _runs(counts) -> np.ndarray:
    """The run lengths of compressed (str or bytes) or uncompressed (a list) counts, as int64."""
    if isinstance(counts, bytes):
        try:
            counts = counts.decode("ascii")
        except UnicodeDecodeError:
            raise ValueError("invalid non-ASCII character in RLE string") from None
    return _decompress(counts) if isinstance(counts, str) else _integers(counts)


def _integers(counts) -> np.ndarray:
    """Uncompressed counts as int64; ValueError for anything but integers."""
    try:
        runs = [int(c) for c in counts]
    except (TypeError, ValueError, OverflowError):
        raise ValueError("RLE counts must be integers") from None
    if any(abs(r) >= 1 << 62 for r in runs):
        raise ValueError("RLE counts too large")
    return np.asarray(runs, dtype=np.int64)


def area(rle: dict) -> int:
    return int(_runs(rle["counts"])[1::2].sum())


def bbox(rle: dict) -> list[float]:
    """[x, y, w, h] of the mask (COCO convention), zeros for an empty mask."""
    box = to_box(rle)
    if box is None:
        return [0.0, 0.0, 0.0, 0.0]
    x1, y1, x2, y2 = box
    return [x1, y1, x2 - x1, y2 - y1]


def to_box(rle: dict) -> tuple[float, float, float, float] | None:
    """`mask_to_box(decode(rle))` from the runs alone, without decoding the mask; None if empty."""
    height = int(rle["size"][0])
    runs = _runs(rle["counts"])
    ends = np.cumsum(runs)
    starts = ends - runs
    ones = (np.arange(len(runs)) % 2 == 1) & (runs > 0)
    if height == 0 or not ones.any():
        return None
    first, last = starts[ones], ends[ones] - 1  # column-major flat indices of each run of 1s
    first_col, last_col = first // height, last // height
    if (first_col != last_col).any():  # a run that wraps into the next column covers the bottom and the top
        top, bottom = 0, height - 1
    else:
        top, bottom = int((first % height).min()), int((last % height).max())
    return float(first_col.min()), float(top), float(last_col.max() + 1), float(bottom + 1)
