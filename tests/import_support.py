"""Helpers of the import tests: the frames imports are matched to, files written for them, the refusal
check, and a small dataset to export."""

from __future__ import annotations

import numpy as np
import pytest

from anymask.annotations import rle
from anymask.errors import AnnotationFormatError
from anymask.formats import Dataset, FrameInfo, Instance, import_annotations

FRAMES = [FrameInfo(i, f"vtest_{i:06d}.jpg", 576, 768) for i in range(6)]  # vtest.avi's first six frames


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def refused(format_name, path, frames, message, where=None):
    """The import fails with one AnnotationFormatError that names the file."""
    with pytest.raises(AnnotationFormatError, match=message) as exc:
        import_annotations(format_name, where or path, frames)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def small_dataset():
    frames = [FrameInfo(i, f"f{i:03d}.jpg", 48, 64) for i in range(2)]
    square = np.zeros((48, 64), bool)
    square[10:30, 20:40] = True

    class Pixels:
        fps, path = 25.0, "synthetic"

        def frame(self, index):
            return np.full((48, 64, 3), 40 * index, np.uint8)

    instances = {i: [Instance(1, "a", rle.encode(square), 0.9)] for i in range(2)}
    return Dataset("seq", frames, ["a"], instances, Pixels(), 25.0)


# each export, and the import format that reads it back
