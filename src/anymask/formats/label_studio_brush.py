"""Label Studio's brush masks: the rle-pack bit stream (thi.ng) over a mask's RGBA bytes, both ways."""

from __future__ import annotations

import numpy as np

WORD_BITS = 8  # one RGBA byte per value
RUN_BITS = (3, 4, 8, 16)  # the four run-length widths a run may use; ours are Label Studio's own
LONGEST_RUN = 1 << RUN_BITS[-1]


def encode_brush(mask: np.ndarray) -> list[int]:
    """A boolean mask as Label Studio's brush `rle`: its RGBA bytes (255 in every channel where the mask
    is on), as runs of one value in the rle-pack layout, as a list of byte values."""
    values = np.repeat(mask.ravel().astype(np.uint8) * 255, 4)
    starts = np.concatenate([[0], np.flatnonzero(values[1:] != values[:-1]) + 1])
    lengths = np.diff(np.concatenate([starts, [values.size]]))
    bits = [f"{values.size:032b}", f"{WORD_BITS - 1:05b}", "".join(f"{width - 1:04b}" for width in RUN_BITS)]
    for value, length in zip(values[starts].tolist(), lengths.tolist()):
        while length > 0:
            run = min(length, LONGEST_RUN)
            index = next(i for i, width in enumerate(RUN_BITS) if run <= 1 << width)
            bits.append(f"1{index:02b}{run - 1:0{RUN_BITS[index]}b}{value:08b}")
            length -= run
    stream = "".join(bits)
    stream += "0" * (-len(stream) % 8)
    return list(int(stream, 2).to_bytes(len(stream) // 8, "big"))


def decode_brush(data, height: int, width: int) -> np.ndarray:
    """A brush `rle` (a list of byte values) as a boolean mask of height x width, from its alpha channel.

    Raises ValueError naming what is wrong: bytes outside 0..255, a value count that is not the image's
    RGBA size, runs past the end, or a stream that stops early."""
    if not isinstance(data, list) or not all(isinstance(b, int) and not isinstance(b, bool) for b in data):
        raise ValueError("rle: expected a list of byte values")
    if any(b < 0 or b > 255 for b in data):
        raise ValueError("rle: byte values must be 0..255")
    reader = _Bits(data)
    count, word = reader.read(32), reader.read(5) + 1
    widths = [reader.read(4) + 1 for _ in range(4)]
    if count != height * width * 4:
        raise ValueError(f"rle holds {count} values, the {width}x{height} image has {height * width * 4} (RGBA)")
    out = np.zeros(count, dtype=np.uint32 if word > 8 else np.uint8)
    position = 0
    while position < count:
        repeated = reader.read(1)
        end = position + 1 + reader.read(widths[reader.read(2)])
        if end > count:
            raise ValueError(f"rle: a run ends at value {end}, past the {count} values")
        if repeated:
            out[position:end] = reader.read(word)
        else:
            out[position:end] = [reader.read(word) for _ in range(end - position)]
        position = end
    return out.reshape(height, width, 4)[:, :, 3] > 0


class _Bits:
    """Reads unsigned numbers, most significant bit first, from a list of byte values."""

    def __init__(self, data: list[int]) -> None:
        self.text = "".join(f"{b:08b}" for b in data)
        self.at = 0

    def read(self, size: int) -> int:
        if self.at + size > len(self.text):
            raise ValueError("rle: the bit stream ends early")
        value = int(self.text[self.at : self.at + size], 2) if size else 0
        self.at += size
        return value
