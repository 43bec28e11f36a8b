"""X-AnyLabeling's native layout: one JSON per frame beside the frame image; import reads such folders."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..annotations import rle as rle_codec
from ..annotations.geometry import box_to_mask, polygons_to_mask, rotated_box_to_mask
from ..annotations.label_file import LabelFile, read_label_file, write_label_file
from ..annotations.shapes import Shape
from ..errors import AnnotationFormatError
from .dataset import Dataset, FrameInfo, Instance, Tracing, check_frame_size
from .frame_numbers import match_frames


def export_xanylabeling(
    dataset: Dataset,
    out: Path,
    mode: str = "polygon",
    tolerance: float = 1.0,
    write_images: bool = True,
    empty_frames: bool = False,
) -> Path:
    """`<stem>.json` per frame (shapes in the output mode, group_id = track id) and the frame images.

    Rectangles are written as current X-AnyLabeling writes them: 4 corners clockwise from the top left,
    the right and bottom ones on the last pixel's index (clamped to W-1, H-1)."""
    for frame in dataset.each_frame(Tracing(tolerance) if mode == "polygon" else None):
        if not empty_frames and not dataset.on(frame.index):
            continue
        image_name = dataset.image_name(frame)
        shapes = [
            _file_shape(shape, frame, dataset.track_id(instance.object_id))
            for instance in dataset.on(frame.index)
            for shape in instance.shapes(mode, tolerance)
        ]
        label_file = LabelFile(shapes, image_name, frame.height, frame.width)
        write_label_file(label_file, out / f"{dataset.stem(frame)}.json")
        if write_images:
            dataset.write_image(frame, out / image_name)
    return out


def _file_shape(shape: Shape, frame: FrameInfo, track: int) -> Shape:
    """A shape in the file's conventions: group_id = track id, rectangles as 4 last-pixel corners."""
    shape = dataclasses.replace(shape, group_id=track)
    if shape.shape_type == "rectangle":
        (x1, y1), (x2, y2) = shape.points
        x2, y2 = min(x2 - 1, frame.width - 1), min(y2 - 1, frame.height - 1)  # pixel edge -> last pixel index
        shape.points = [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]
    return shape


def import_label_folder(folder: Path, frames: list[FrameInfo] | None = None) -> Dataset:
    """Read every X-AnyLabeling / labelme JSON in a folder (or one such file); shapes with a group_id share
    an object. Files land on the media's frames by image name, or by the numbers of the frames X-AnyLabeling
    extracted from a video (see frame_numbers.py)."""
    folder = Path(folder)
    files = [folder] if folder.is_file() else sorted(folder.glob("*.json"))
    if not files:
        raise AnnotationFormatError(f"{folder}: no .json label files found")
    label_files = [read_label_file(path) for path in files]
    if frames:
        matched, notes = _frames_of(files, label_files, frames, folder)
    else:
        matched, notes = [_own_frame(p, position, lf) for position, (p, lf) in enumerate(zip(files, label_files))], []
    parsed = []
    for path, frame, label_file in zip(files, matched, label_files):
        if frame is None:
            raise AnnotationFormatError(
                f"{path}: its image {label_file.image_path!r} is not a frame of this video or folder"
            )
        parsed.append((path, frame, label_file))
    instances: dict[int, list[Instance]] = {}
    group_ids = [s.group_id for _, _, lf in parsed for s in lf.shapes if s.group_id is not None]
    free_id = 1 + max(group_ids, default=0)  # shapes without a group_id: new objects after the others
    skipped: dict[str, int] = {}
    for path, frame, label_file in parsed:
        merged: dict[tuple, np.ndarray] = {}
        labels: dict[tuple, str] = {}
        for index, shape in enumerate(label_file.shapes):
            mask = _shape_mask(shape, frame, path, index)
            if mask is None:
                skipped[shape.shape_type] = skipped.get(shape.shape_type, 0) + 1
                continue
            key = (shape.group_id,) if shape.group_id is not None else ("free", index)
            merged[key] = merged[key] | mask if key in merged else mask
            labels.setdefault(key, shape.label)
        for key, mask in merged.items():
            object_id = key[0] if key[0] != "free" else free_id
            if key[0] == "free":
                free_id += 1
            instances.setdefault(frame.index, []).append(Instance(object_id, labels[key], rle_codec.encode(mask)))
    classes = list(dict.fromkeys(i.label for _, items in sorted(instances.items()) for i in items))  # file order
    dataset = Dataset(folder.name, frames or [f for _, f, _ in parsed], classes, instances)
    dataset.notes = notes + [f"skipped {count} {kind} shape(s): not an area" for kind, count in sorted(skipped.items())]
    return dataset


def _own_frame(path: Path, position: int, label_file: LabelFile) -> FrameInfo:
    """A frame made from the label file itself (no media given)."""
    size = check_frame_size(label_file.image_height, label_file.image_width, str(path))
    return FrameInfo(position, Path(label_file.image_path).name, *size)


def _frames_of(
    files: list[Path], label_files: list[LabelFile], frames: list[FrameInfo], folder: Path
) -> tuple[list[FrameInfo | None], list[str]]:
    """Each label file's frame: by its image's name (or its own), else, where no name is one of the media's,
    by the numbers of X-AnyLabeling's extracted frames (frame_00012.jpg), checked against the frame size."""
    by_stem = {Path(f.file_name).stem: f for f in frames}
    matched = [by_stem.get(Path(lf.image_path).stem, by_stem.get(p.stem)) for p, lf in zip(files, label_files)]
    names = [Path(lf.image_path).name or f"{p.stem}.jpg" for p, lf in zip(files, label_files)]
    matched, notes = match_frames(names, matched, frames, [files[0].parent], folder)
    for path, frame, label_file in zip(files, matched, label_files):
        if notes and (label_file.image_height, label_file.image_width) != (frame.height, frame.width):
            raise AnnotationFormatError(
                f"{path}: its image is {label_file.image_width}x{label_file.image_height} but frame {frame.index} "
                f"of this video is {frame.width}x{frame.height}; is it this video's?"
            )
    return matched, notes


def _shape_mask(shape, frame: FrameInfo, path: Path, index: int) -> np.ndarray | None:
    points = np.asarray(shape.points, dtype=np.float64)
    height, width = frame.height, frame.width
    outside = (
        (points[:, 0] < -0.5) | (points[:, 1] < -0.5) | (points[:, 0] > width + 0.5) | (points[:, 1] > height + 0.5)
    )
    if np.any(outside):
        x, y = points[outside][0]
        raise AnnotationFormatError(
            f"{path}: shapes[{index}]: point ({x:g}, {y:g}) lies outside the {width}x{height} image"
        )
    if shape.shape_type == "polygon":
        return polygons_to_mask([points], height, width)
    if shape.shape_type == "rectangle":  # corners on pixel indices, both ends included (labelme, X-AnyLabeling)
        (x1, y1), (x2, y2) = points.min(axis=0), points.max(axis=0)
        return box_to_mask((x1, y1, x2 + 1, y2 + 1), height, width)
    if shape.shape_type == "rotation":  # X-AnyLabeling's; labelme has no rotated boxes
        return rotated_box_to_mask(points, height, width)
    if shape.shape_type == "circle" and len(points) >= 2:
        return _circle_mask(points, height, width)
    return None  # points, lines and line strips are not objects with an area


def _circle_mask(points: np.ndarray, height: int, width: int) -> np.ndarray:
    """labelme's circle (centre, a point on the rim), filled as labelme's own shape_to_mask fills it."""
    (cx, cy), (px, py) = points[0], points[1]
    radius = float(np.hypot(cx - px, cy - py))
    picture = Image.new("1", (width, height), 0)
    ImageDraw.Draw(picture).ellipse([cx - radius, cy - radius, cx + radius, cy + radius], outline=1, fill=1)
    return np.asarray(picture, dtype=bool)
