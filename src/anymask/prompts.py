"""Checks that prompts (points, labels, boxes, mask inputs) have the right shapes and lie in the image."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VALID_POINT_LABELS = (-1, 0, 1, 2, 3)  # padding, negative, positive, box corners
MASK_INPUT_SIZE = 256


@dataclass
class Prompts:
    """Validated prompts: coords (B, N, 2), labels (B, N), box (B, 4), mask_input (B, 1, 256, 256); any may be None."""

    coords: np.ndarray | None
    labels: np.ndarray | None
    box: np.ndarray | None
    mask_input: np.ndarray | None


def _as_float_array(value, name: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric, got {value!r}") from None
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _check_inside(xy: np.ndarray, size: tuple[int, int], normalized: bool, name: str) -> None:
    height, width = size
    limit_x, limit_y = (width, height) if normalized else (1.0, 1.0)
    xs, ys = xy[..., 0], xy[..., 1]
    bad = (xs < 0) | (xs > limit_x) | (ys < 0) | (ys > limit_y)
    if np.any(bad):
        x, y = xy[bad][0]
        raise ValueError(f"{name} ({x:g}, {y:g}) lies outside the image (width {width}, height {height})")


def validate_prompts(
    point_coords, point_labels, box, mask_input, image_size: tuple[int, int], pixel_coords: bool = True
) -> Prompts:
    """Shapes and bounds of one predict() call; raises ValueError with a plain explanation."""
    coords = labels = boxes = masks = None
    if (point_coords is None) != (point_labels is None):
        raise ValueError("point_coords and point_labels must be given together")
    if point_coords is not None:
        coords = _as_float_array(point_coords, "point_coords")
        labels_array = np.asarray(point_labels)
        if coords.ndim == 2:
            coords = coords[None]
            labels_array = labels_array[None] if labels_array.ndim == 1 else labels_array
        if coords.ndim != 3 or coords.shape[-1] != 2 or coords.shape[1] == 0:
            raise ValueError(f"point_coords must have shape Nx2 (or BxNx2), got {np.shape(point_coords)}")
        if labels_array.shape != coords.shape[:2]:
            raise ValueError(
                f"point_labels must have one label per point: shape {coords.shape[:2]}, got {np.shape(point_labels)}"
            )
        if not np.all(np.isin(labels_array, VALID_POINT_LABELS)):
            raise ValueError(
                "point_labels must be 1 (positive) or 0 (negative); -1, 2 and 3 are SAM padding and box corners"
            )
        _check_inside(coords, image_size, pixel_coords, "point")
        labels = labels_array.astype(np.int32)
    if box is not None:
        boxes = _as_float_array(box, "box")
        if boxes.ndim == 1:
            boxes = boxes[None]
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(f"box must have shape 4 (x1, y1, x2, y2) or Bx4, got {np.shape(box)}")
        if np.any(boxes[:, 2] < boxes[:, 0]) or np.any(boxes[:, 3] < boxes[:, 1]):
            raise ValueError("box must be (x1, y1, x2, y2) with x2 >= x1 and y2 >= y1")
        _check_inside(boxes.reshape(-1, 2, 2), image_size, pixel_coords, "box corner")
        if coords is not None and coords.shape[0] != boxes.shape[0]:
            raise ValueError(f"{boxes.shape[0]} boxes but {coords.shape[0]} point sets: give one point set per box")
    if mask_input is not None:
        masks = _as_float_array(mask_input, "mask_input")
        if masks.ndim == 2:
            masks = masks[None]
        if masks.ndim == 3:
            masks = masks[None]
        if masks.ndim != 4 or masks.shape[1] != 1 or masks.shape[-2:] != (MASK_INPUT_SIZE, MASK_INPUT_SIZE):
            raise ValueError(
                f"mask_input must be low-res logits of shape 1x256x256 (as predict returns), got {np.shape(mask_input)}"
            )
    return Prompts(coords, labels, boxes, masks)
