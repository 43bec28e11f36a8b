"""X-AnyLabeling / labelme JSON files: read without loss (unknown keys kept), write what both tools open."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..checks import is_finite_number, read_json_file
from ..errors import AnnotationFormatError
from .shapes import SHAPE_TYPES, Shape

FORMAT_VERSION = "3.0.0"  # the X-AnyLabeling file version we write
TOP_KEYS = ("version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth")
SHAPE_KEYS = (
    "label",
    "score",
    "points",
    "group_id",
    "description",
    "difficult",
    "shape_type",
    "flags",
    "attributes",
    "direction",
)


@dataclass
class LabelFile:
    """One image's annotations as X-AnyLabeling stores them beside the image."""

    shapes: list[Shape]
    image_path: str
    image_height: int
    image_width: int
    image_data: str | None = None
    flags: dict[str, Any] = field(default_factory=dict)
    version: str = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)


class _Checker:
    """Builds AnnotationFormatErrors that name the file and the JSON path of the bad value."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> AnnotationFormatError:
        return AnnotationFormatError(f"{self.source}: {where}: {problem}")

    def number(self, value, where: str) -> float:
        if not is_finite_number(value):
            raise self.fail(where, f"expected a number, got {value!r}")
        return float(value)

    def points(self, value, where: str) -> list[list[float]]:
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list of [x, y] points, got {type(value).__name__}")
        points = []
        for index, point in enumerate(value):
            if not isinstance(point, (list, tuple)) or len(point) != 2:
                raise self.fail(f"{where}[{index}]", f"expected [x, y], got {point!r}")
            points.append(
                [self.number(point[0], f"{where}[{index}][0]"), self.number(point[1], f"{where}[{index}][1]")]
            )
        return points


def shape_from_dict(data: Any, source: str = "<shape>", where: str = "shape") -> Shape:
    """A Shape from X-AnyLabeling's dict form; AnnotationFormatError naming `source` and `where` if malformed."""
    return _shape_from_dict(data, _Checker(source), where)


def _shape_from_dict(data: Any, check: _Checker, where: str) -> Shape:
    if not isinstance(data, dict):
        raise check.fail(where, f"expected an object, got {type(data).__name__}")
    label = data.get("label")
    if not isinstance(label, str):
        raise check.fail(f"{where}.label", f"expected a string, got {label!r}")
    shape_type = data.get("shape_type") or "polygon"
    if shape_type not in SHAPE_TYPES:
        raise check.fail(f"{where}.shape_type", f"unknown shape type {shape_type!r}")
    points = check.points(data.get("points"), f"{where}.points")
    minimum = {
        "polygon": 3,
        "rectangle": 2,
        "rotation": 4,
        "point": 1,
        "line": 2,
        "linestrip": 2,
        "circle": 2,
        "mask": 0,
    }
    if len(points) < minimum[shape_type]:
        raise check.fail(
            f"{where}.points", f"a {shape_type} needs at least {minimum[shape_type]} points, got {len(points)}"
        )
    group_id = data.get("group_id")
    if group_id is not None and (isinstance(group_id, bool) or not isinstance(group_id, int)):
        raise check.fail(f"{where}.group_id", f"expected an integer or null, got {group_id!r}")
    score = data.get("score")
    if score is not None:
        score = check.number(score, f"{where}.score")
    flags, attributes = data.get("flags") or {}, data.get("attributes") or {}
    if not isinstance(flags, dict) or not isinstance(attributes, dict):
        raise check.fail(where, "flags and attributes must be objects")
    direction = check.number(data.get("direction", 0) or 0, f"{where}.direction")
    difficult = data.get("difficult", False)
    if isinstance(difficult, str):
        difficult = difficult.strip().lower() == "true"
    return Shape(
        label=label,
        points=points,
        shape_type=shape_type,
        group_id=group_id,
        score=score,
        description=data.get("description", ""),
        difficult=bool(difficult),
        flags=flags,
        attributes=attributes,
        direction=direction,
        extra={k: v for k, v in data.items() if k not in SHAPE_KEYS},
    )


def label_file_from_dict(data: Any, source: str = "<dict>") -> LabelFile:
    check = _Checker(source)
    if not isinstance(data, dict):
        raise check.fail("top level", f"expected a JSON object, got {type(data).__name__}")
    shapes_data = data.get("shapes", [])
    if not isinstance(shapes_data, list):
        raise check.fail("shapes", "expected a list")
    shapes = [_shape_from_dict(item, check, f"shapes[{i}]") for i, item in enumerate(shapes_data)]
    image_path = data.get("imagePath")
    if not isinstance(image_path, str) or not image_path:
        raise check.fail("imagePath", f"expected the image file name, got {image_path!r}")
    sizes = []
    for key in ("imageHeight", "imageWidth"):
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise check.fail(key, f"expected a positive integer, got {value!r}")
        sizes.append(value)
    flags = data.get("flags") or {}
    if not isinstance(flags, dict):
        raise check.fail("flags", "expected an object")
    return LabelFile(
        shapes=shapes,
        image_path=image_path,
        image_height=sizes[0],
        image_width=sizes[1],
        image_data=data.get("imageData"),
        flags=flags,
        version=str(data.get("version") or FORMAT_VERSION),
        extra={k: v for k, v in data.items() if k not in TOP_KEYS},
    )


def read_label_file(path: str | Path) -> LabelFile:
    """Load an X-AnyLabeling or labelme JSON file; AnnotationFormatError naming the file if it is malformed."""
    path = Path(path)
    return label_file_from_dict(read_json_file(path, "label file"), str(path))


def shape_to_dict(shape: Shape) -> dict[str, Any]:
    data: dict[str, Any] = {
        "label": shape.label,
        "score": shape.score,
        "points": [[float(x), float(y)] for x, y in shape.points],
        "group_id": shape.group_id,
        "description": shape.description,
        "difficult": shape.difficult,
        "shape_type": shape.shape_type,
        "flags": shape.flags,
        "attributes": shape.attributes,
    }
    if shape.shape_type == "rotation" or shape.direction:
        data["direction"] = shape.direction
    data.setdefault("kie_linking", [])
    for key, value in shape.extra.items():
        data.setdefault(key, value)
    return data


def label_file_to_dict(label_file: LabelFile) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": label_file.version,
        "flags": label_file.flags,
        "shapes": [shape_to_dict(s) for s in label_file.shapes],
        "imagePath": label_file.image_path,
        "imageData": label_file.image_data,
        "imageHeight": label_file.image_height,
        "imageWidth": label_file.image_width,
    }
    for key, value in label_file.extra.items():
        data.setdefault(key, value)
    return data


def write_label_file(label_file: LabelFile, path: str | Path) -> None:
    """Write atomically, formatted as X-AnyLabeling writes it (indent 2, UTF-8), except that each shape's
    points stay on one line: Python's indenting encoder is slow, and long polygons made most of the time
    of an export."""
    atomic_write_text(path, label_file_text(label_file))


def label_file_text(label_file: LabelFile) -> str:
    data = label_file_to_dict(label_file)
    originals = [shape["points"] for shape in data["shapes"]]
    for number, shape in enumerate(data["shapes"]):
        shape["points"] = f"\0{number}"  # a placeholder, swapped back below in the same order
    text = json.dumps(data, ensure_ascii=False, indent=2)
    pieces = text.split('"points": "\\u0000')
    if len(pieces) != len(originals) + 1:  # a foreign key held the placeholder's text: write it plainly
        for shape, points in zip(data["shapes"], originals, strict=True):
            shape["points"] = points
        return json.dumps(data, ensure_ascii=False, indent=2)
    swapped = [  # each piece starts with the rest of its placeholder, `<number>"`
        '"points": ' + json.dumps(points) + piece[len(f'{number}"') :]  # the C encoder, compact
        for number, (points, piece) in enumerate(zip(originals, pieces[1:], strict=True))
    ]
    return pieces[0] + "".join(swapped)
