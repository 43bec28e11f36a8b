"""Output shapes: an object's mask as the shape of the chosen output mode, and the shapes a frame shows."""

from __future__ import annotations

import numpy as np

from ..annotations import rle
from ..annotations.shapes import Shape
from ..formats.dataset import Instance

SHAPE_TYPES = {"polygon": "polygon", "mask": "polygon", "rectangle": "rectangle", "rotation": "rotation"}


def area(shape: Shape) -> float:
    x, y = np.asarray(shape.points, dtype=np.float64).reshape(-1, 2).T
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def shape_for(mode: str, tolerance: float, object_id: int, label: str, mask: np.ndarray, score=None) -> Shape | None:
    """The object's shape in an output mode; of several polygons, the largest (the one a person edits)."""
    shapes = Instance(object_id, label, rle.encode(mask), score).shapes(SHAPE_TYPES[mode], tolerance)
    return max(shapes, key=area, default=None)


def frame_shapes(store, frame: int, mode: str, tolerance: float) -> dict[int, Shape]:
    """The shapes on a frame in an output mode (stored ones of another mode are derived again from the mask)."""
    stored, objects = store.shapes(frame), store.objects()
    for item in store.masks(frame):
        if item.object_id not in stored or stored[item.object_id].shape_type != SHAPE_TYPES[mode]:
            shape = shape_for(mode, tolerance, item.object_id, objects[item.object_id], rle.decode(item.rle), item.score)
            if shape is not None:
                stored[item.object_id] = shape
    return stored
