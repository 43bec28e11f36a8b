"""Edit mode: move, add and remove a shape's vertices or delete it, with the object's mask kept in step."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np

from ..annotations import rle
from ..annotations.geometry import box_to_mask, polygons_to_mask, rotated_box_to_mask
from ..annotations.shapes import Shape
from ..project.snapshot import Region
from .events import PROJECT_CHANGED

if TYPE_CHECKING:
    from .project import AnnotatedProject

MIN_POINTS = {"polygon": 3, "rectangle": 2, "rotation": 4}


def shape_mask(shape: Shape, height: int, width: int) -> np.ndarray:
    """The pixels a shape covers (the conventions of mask_to_polygons / mask_to_box / mask_to_rotated_box)."""
    points = np.asarray(shape.points, dtype=np.float64).reshape(-1, 2)
    if shape.shape_type == "rectangle":
        (x1, y1), (x2, y2) = points.min(axis=0), points.max(axis=0)
        return box_to_mask((x1, y1, x2, y2), height, width)
    if shape.shape_type == "rotation":
        return rotated_box_to_mask(points, height, width)
    return polygons_to_mask([points], height, width)


class ShapeEditor:
    """Edits the shape an object has on a frame. The mask changes only where the shape did: the old
    shape's pixels are replaced by the new shape's, so other components are kept, and holes inside an
    old polygon outline stay holes where the new outline still covers them."""

    def __init__(self, project: "AnnotatedProject") -> None:
        self.project = project

    def shape(self, frame: int, object_id: int) -> Shape:
        shape = self.project.shapes(frame).get(object_id)
        if shape is None:
            raise ValueError(f"object {object_id} has no shape on frame {frame}")
        return shape

    def set_points(self, frame: int, object_id: int, points) -> Shape:
        """Replace the shape's points (the general edit the others are made of)."""
        old = self.shape(frame, object_id)
        points = [[float(x), float(y)] for x, y in points]
        if len(points) < MIN_POINTS.get(old.shape_type, 1):
            raise ValueError(f"a {old.shape_type} needs at least {MIN_POINTS[old.shape_type]} points")
        new = copy.deepcopy(old)
        new.points = points
        self._save(frame, object_id, old, new, "edit shape")
        return new

    def move_vertex(self, frame: int, object_id: int, index: int, x: float, y: float) -> Shape:
        points = self._points(self.shape(frame, object_id), index)
        points[index] = [x, y]
        return self.set_points(frame, object_id, points)

    def insert_vertex(self, frame: int, object_id: int, index: int, x: float, y: float) -> Shape:
        """Add a vertex before position `index` (len(points) appends)."""
        shape = self.shape(frame, object_id)
        points = shape.points
        if shape.shape_type != "polygon":
            raise ValueError("vertices can be added to polygons only")
        if not 0 <= index <= len(points):
            raise ValueError(f"vertex position {index} is outside 0..{len(points)}")
        return self.set_points(frame, object_id, points[:index] + [[x, y]] + points[index:])

    def remove_vertex(self, frame: int, object_id: int, index: int) -> Shape:
        shape = self.shape(frame, object_id)
        if shape.shape_type != "polygon":
            raise ValueError("vertices can be removed from polygons only")
        points = self._points(shape, index)
        return self.set_points(frame, object_id, points[:index] + points[index + 1 :])

    def move_shape(self, frame: int, object_id: int, dx: float, dy: float) -> Shape:
        points = self.shape(frame, object_id).points
        return self.set_points(frame, object_id, [[x + dx, y + dy] for x, y in points])

    def delete_shape(self, frame: int, object_id: int) -> None:
        """Remove the object's shape and mask from this frame (the object stays on other frames)."""
        self.shape(frame, object_id)
        self.project.guard()
        with self.project.undoable(
            f"delete shape of object {object_id} on frame {frame + 1}", Region.frames(frame, frame, [object_id])
        ):
            self.project.store.delete_mask(frame, object_id)
        self.project.observers.emit(PROJECT_CHANGED, what="edit", frame=frame)

    @staticmethod
    def _points(shape: Shape, index: int) -> list[list[float]]:
        points = shape.points
        if not 0 <= index < len(points):
            raise ValueError(f"vertex {index} is outside 0..{len(points) - 1}")
        return [list(p) for p in points]

    def _save(self, frame: int, object_id: int, old: Shape, new: Shape, description: str) -> None:
        project = self.project
        project.guard()
        height, width = project.source.frame_size(frame)
        row = project.store.mask_row(frame, object_id)
        current = rle.decode(row.rle)
        old_area, new_area = shape_mask(old, height, width), shape_mask(new, height, width)
        holes = old_area & ~current if old.shape_type == "polygon" else np.zeros_like(current)  # an outline's holes
        mask = (current & ~old_area) | (new_area & ~holes)
        label = project.store.objects()[object_id]
        with project.undoable(
            f"{description} of object {object_id} on frame {frame + 1}", Region.frames(frame, frame, [object_id])
        ):
            project.save_mask(frame, object_id, label, mask, row.score, "edited", shape=new)
        project.observers.emit(PROJECT_CHANGED, what="edit", frame=frame)
