"""Annotation data: shapes (X-AnyLabeling's fields), labels with colours, per-frame annotations and tracks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SHAPE_TYPES = ("polygon", "rectangle", "rotation", "point", "mask", "line", "linestrip", "circle")
SOURCES = ("prompt", "tracked", "edited", "imported")

# colours for classes and objects in the order they appear (distinct on light and dark frames)
PALETTE = [
    (255, 56, 56),
    (72, 249, 10),
    (0, 148, 255),
    (255, 157, 151),
    (146, 204, 23),
    (255, 178, 29),
    (207, 210, 49),
    (61, 219, 134),
    (26, 147, 52),
    (0, 212, 187),
    (44, 153, 168),
    (0, 194, 255),
    (52, 69, 147),
    (100, 115, 255),
    (0, 24, 236),
    (132, 56, 255),
    (82, 0, 133),
    (203, 56, 255),
    (255, 149, 200),
    (255, 55, 199),
]


def palette_color(index: int) -> tuple[int, int, int]:
    return PALETTE[index % len(PALETTE)]


@dataclass
class Shape:
    """One annotation on one image: X-AnyLabeling's shape fields; `extra` keeps keys we do not know."""

    label: str
    points: list[list[float]]
    shape_type: str = "polygon"
    group_id: int | None = None  # the track (object) id in videos
    score: float | None = None
    description: str | None = ""
    difficult: bool = False
    flags: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    direction: float = 0.0  # rotation boxes: angle of the first edge, radians in [0, 2*pi)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.shape_type not in SHAPE_TYPES:
            raise ValueError(f"unknown shape_type {self.shape_type!r}; expected one of {', '.join(SHAPE_TYPES)}")
        if isinstance(self.points, np.ndarray):  # a traced ring: converted in one step
            self.points = np.asarray(self.points, dtype=np.float64).reshape(-1, 2).tolist()
        else:
            self.points = [[float(x), float(y)] for x, y in self.points]

    def bounds(self) -> tuple[float, float, float, float]:
        """(x1, y1, x2, y2) of the points."""
        xs = [p[0] for p in self.points]
        ys = [p[1] for p in self.points]
        return min(xs), min(ys), max(xs), max(ys)


@dataclass
class Label:
    """A class name with its display colour and visibility."""

    name: str
    color: tuple[int, int, int] = (255, 56, 56)
    visible: bool = True


@dataclass
class ObjectMask:
    """An object's mask on one frame, compressed, with where it came from."""

    object_id: int
    rle: dict  # COCO RLE: {"size": [h, w], "counts": str}
    score: float | None = None
    source: str = "tracked"


@dataclass
class Track:
    """One object across frames: its id, class, and the frames it is present on."""

    object_id: int
    label: str
    frames: list[int] = field(default_factory=list)
