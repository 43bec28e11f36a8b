"""Output shapes: an object's mask as the shape of the chosen output mode, and the shapes a frame shows."""

from __future__ import annotations

import numpy as np

from ..annotations import rle
from ..annotations.geometry import mask_to_polygons
from ..annotations.shapes import Shape
from ..formats.dataset import mask_shapes

# The shape a person sees and edits in each output mode: a mask is drawn as its outline. (Exports get the
# output mode itself: COCO writes RLE in mask mode.)
DRAWN_SHAPE_TYPE = {"polygon": "polygon", "mask": "polygon", "rectangle": "rectangle", "rotation": "rotation"}


def area(shape: Shape) -> float:
    x, y = np.asarray(shape.points, dtype=np.float64).reshape(-1, 2).T
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def shape_for(mode: str, tolerance: float, object_id: int, label: str, mask: np.ndarray, score=None) -> Shape | None:
    """The shape a person sees and edits: the outline of the largest component (holes stay in the mask, as
    in X-AnyLabeling's SAM tools), or the box / rotated box. Exports are made from the mask itself."""
    if DRAWN_SHAPE_TYPE[mode] != "polygon":
        shapes = mask_shapes(mask, DRAWN_SHAPE_TYPE[mode], tolerance, label, object_id, score)
        return shapes[0] if shapes else None
    outlines = [
        Shape(label, p.exterior.tolist(), "polygon", group_id=object_id, score=score)
        for p in mask_to_polygons(mask, tolerance)
        if len(p.exterior) >= 3
    ]
    return max(outlines, key=area, default=None)


def frame_shapes(store, frame: int, mode: str, tolerance: float) -> dict[int, Shape]:
    """The shapes on a frame in an output mode (stored ones of another mode are derived again from the mask)."""
    stored, objects = store.shapes(frame), store.objects()
    for item in store.masks(frame):
        if item.object_id not in stored or stored[item.object_id].shape_type != DRAWN_SHAPE_TYPE[mode]:
            shape = shape_for(
                mode, tolerance, item.object_id, objects[item.object_id], rle.decode(item.rle), item.score
            )
            if shape is not None:
                stored[item.object_id] = shape
    return stored
