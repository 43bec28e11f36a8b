"""COCO run-length encoding of binary masks (column-major, compressed counts) without pycocotools."""

from __future__ import annotations

import numpy as np


def encode_counts(mask: np.ndarray) -> list[int]:
    """Uncompressed COCO counts: alternating run lengths of 0s and 1s in column-major order, 0s first."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    if flat.size == 0:
        return []
    changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], changes, [flat.size]])
    runs = np.diff(bounds).tolist()
    return runs if not flat[0] else [0] + runs


def _compress(counts: list[int]) -> str:
    """COCO's compact string form of counts (LEB128-like, 5 bits a character, deltas after the 2nd run)."""
    out = []
    for index, value in enumerate(counts):
        x = value - counts[index - 2] if index > 2 else value
        more = True
        while more:
            chunk = x & 0x1F
            x >>= 5
            more = not ((chunk & 0x10 == 0 and x == 0) or (chunk & 0x10 != 0 and x == -1))
            if more:
                chunk |= 0x20
            out.append(chr(chunk + 48))
    return "".join(out)


def _decompress(text: str) -> list[int]:
    counts: list[int] = []
    position = 0
    while position < len(text):
        x, shift, more = 0, 0, True
        while more:
            if position >= len(text):
                raise ValueError("truncated RLE string")
            chunk = ord(text[position]) - 48
            if not 0 <= chunk < 64:
                raise ValueError(f"invalid character {text[position]!r} in RLE string")
            x |= (chunk & 0x1F) << (5 * shift)
            more = bool(chunk & 0x20)
            position += 1
            shift += 1
            if not more and chunk & 0x10:
                x |= -1 << (5 * shift)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def encode(mask: np.ndarray) -> dict:
    """{"size": [h, w], "counts": str}, readable by pycocotools.mask.decode."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": _compress(encode_counts(mask))}


def decode(rle: dict) -> np.ndarray:
    """A bool HxW mask from compressed (str) or uncompressed (list) COCO RLE; ValueError if malformed."""
    try:
        height, width = (int(v) for v in rle["size"])
        counts = rle["counts"]
    except (KeyError, TypeError, ValueError):
        raise ValueError("RLE must have 'size' [h, w] and 'counts'") from None
    if height < 0 or width < 0:
        raise ValueError(f"RLE size {rle['size']} is negative")
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    runs = _decompress(counts) if isinstance(counts, str) else [int(c) for c in counts]
    if any(r < 0 for r in runs) or sum(runs) != height * width:
        raise ValueError(f"RLE counts cover {sum(runs)} pixels, expected {height * width}")
    values = np.zeros(len(runs), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, runs)
    return flat.reshape((height, width), order="F")


def area(rle: dict) -> int:
    counts = rle["counts"]
    runs = _decompress(counts) if isinstance(counts, str) else list(counts)
    return int(sum(runs[1::2]))


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
    counts = rle["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    runs = np.asarray(_decompress(counts) if isinstance(counts, str) else counts, dtype=np.int64)
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
