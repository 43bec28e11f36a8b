"""Detection seeds: boxes from a COCO file, a YOLO label folder, a MOT text file or a Label Studio export,
as box prompts."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from ..checks import as_key, is_finite_number, is_int_in, read_json_file, read_text_file
from ..errors import AnnotationFormatError
from .manifest import Seeds


@dataclass(frozen=True)
class Detection:
    frame: int
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
    label: str
    score: float


def seed_prompts(seeds: Seeds, source) -> list[dict]:
    """Prompt entries (the prompts.json form): one new object, ids from 1, per kept detection on the keyframes."""
    frames = FrameIndex(source)
    detections = READERS[seeds.format](seeds.file, frames)
    wanted = set(seeds.frames)
    kept = [
        d
        for d in detections
        if d.frame in wanted and d.score >= seeds.min_score and (seeds.classes is None or d.label in seeds.classes)
    ]
    entries = []
    for detection in sorted(kept, key=lambda d: d.frame):
        box = _clipped(detection.box, *source.frame_size(detection.frame))
        if box is None:
            continue
        object_id = len(entries) + 1
        entries.append(
            {
                "id": object_id,
                "label": detection.label,
                "frame": detection.frame,
                "image": None,
                "points": [],
                "box": list(box),
                "where": f"{seeds.file}: detection on frame {detection.frame}",
                "frame_given": True,
            }
        )
    if not entries:
        classes = f" of class {', '.join(seeds.classes)}" if seeds.classes else ""
        raise AnnotationFormatError(
            f"{seeds.file}: no detection{classes} with score >= {seeds.min_score:g} on frame(s) "
            f"{', '.join(map(str, seeds.frames))}"
        )
    return entries


def _clipped(box, height: int, width: int) -> tuple[float, float, float, float] | None:
    x1, y1, x2, y2 = box
    x1, x2 = min(max(x1, 0.0), width), min(max(x2, 0.0), width)
    y1, y2 = min(max(y1, 0.0), height), min(max(y2, 0.0), height)
    return (x1, y1, x2, y2) if x2 > x1 and y2 > y1 else None


class FrameIndex:
    """Frame numbers for the names detections use: the frame's file name, its stem, or the number in it."""

    def __init__(self, source) -> None:
        self.source = source
        self.count = len(source)
        self._names: dict[str, int] = {}
        for index in range(self.count):
            name = source.frame_name(index)
            self._names.setdefault(name, index)
            self._names.setdefault(Path(name).stem, index)

    def size(self, frame: int) -> tuple[int, int]:
        return self.source.frame_size(frame)

    def by_name(self, name: str) -> int | None:
        base = Path(name).name
        for key in (base, Path(base).stem):
            if key in self._names:
                return self._names[key]
        digits = re.findall(r"\d+", Path(base).stem)
        if digits and int(digits[-1]) < self.count:
            return int(digits[-1])
        return None

    def check(self, frame: int, where: str) -> int:
        if not 0 <= frame < self.count:
            raise AnnotationFormatError(f"{where}: frame {frame} is outside the video (0..{self.count - 1})")
        return frame


def _number(value, where: str) -> float:
    if not is_finite_number(value):
        raise AnnotationFormatError(f"{where}: expected a number, got {value!r}")
    return float(value)


def read_coco(path: Path, frames: FrameIndex) -> list[Detection]:
    """A COCO dataset (images matched by frame_id, file name or the number in it) or a results list
    ([{"image_id", "category_id", "bbox", "score"}], image_id taken as the 0-based frame)."""
    document = read_json_file(path, "COCO JSON file")
    if isinstance(document, list):
        annotations, images, categories = document, None, {}
    elif isinstance(document, dict) and isinstance(document.get("annotations"), list):
        annotations = document["annotations"]
        images = {as_key(i.get("id")): i for i in _list(document.get("images")) if isinstance(i, dict)}
        categories = {
            as_key(c.get("id")): str(c.get("name")) for c in _list(document.get("categories")) if isinstance(c, dict)
        }
    else:
        raise AnnotationFormatError(f'{path}: expected a COCO file with "annotations", or a list of detections')
    detections = []
    for index, annotation in enumerate(annotations):
        where = f"{path}: annotations[{index}]"
        if not isinstance(annotation, dict):
            raise AnnotationFormatError(f"{where}: expected an object")
        frame = _coco_frame(annotation.get("image_id"), images, frames, where)
        if frame is None:
            continue  # an image of another video
        bbox = annotation.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise AnnotationFormatError(f"{where}.bbox: expected [x, y, width, height]")
        x, y, w, h = (_number(v, f"{where}.bbox") for v in bbox)
        category = annotation.get("category_id")
        label = categories.get(as_key(category), str(category))
        score = _number(annotation.get("score", 1.0), f"{where}.score")
        detections.append(Detection(frame, (x, y, x + w, y + h), label, score))
    return detections


def _coco_frame(image_id, images: dict | None, frames: FrameIndex, where: str) -> int | None:
    if images is None:
        if not is_int_in(image_id, 0, 2**31 - 1):
            raise AnnotationFormatError(f"{where}.image_id: expected the frame number")
        return frames.check(image_id, where)
    image = images.get(as_key(image_id))
    if image is None:
        raise AnnotationFormatError(f"{where}.image_id: no image with id {image_id!r}")
    for key in ("frame_id", "frame_index"):
        if is_int_in(image.get(key), 0, 2**31 - 1):
            return frames.check(image[key], where)
    name = image.get("file_name")
    return frames.by_name(name) if isinstance(name, str) else None


def read_yolo(folder: Path, frames: FrameIndex) -> list[Detection]:
    """A folder of YOLO label files (`<frame name>.txt`: class cx cy w h [conf], or a polygon); class
    names from data.yaml or classes.txt in the folder, its parent or the one above (Roboflow's layout)."""
    if not folder.is_dir():
        raise AnnotationFormatError(f"{folder}: expected a folder of YOLO label files")
    names = _yolo_names(folder)
    detections = []
    for label_file in sorted(folder.rglob("*.txt")):
        if label_file.name == "classes.txt":
            continue
        frame = frames.by_name(label_file.stem)
        if frame is None:
            continue
        height, width = frames.size(frame)
        for number, line in enumerate(read_text_file(label_file, "YOLO label file").splitlines(), start=1):
            if line.strip():
                detections.append(_yolo_line(line, f"{label_file}: line {number}", frame, width, height, names))
    return detections


def _yolo_names(folder: Path) -> list[str]:
    from ..formats.yolo import class_names_in

    for parent in (folder, folder.parent, folder.parent.parent):  # the last: Roboflow's <split>/labels
        names = class_names_in(parent)
        if names is not None:
            return names
    return []


def _yolo_line(line: str, where: str, frame: int, width: int, height: int, names: list[str]) -> Detection:
    try:
        values = [float(v) for v in line.split()]
    except ValueError:
        raise AnnotationFormatError(f"{where}: expected numbers") from None
    if len(values) < 5 or not float(values[0]).is_integer():
        raise AnnotationFormatError(f"{where}: expected class cx cy w h [conf], or class x1 y1 x2 y2 ...")
    cls = int(values[0])
    label = names[cls] if 0 <= cls < len(names) else str(cls)
    if len(values) in (5, 6):  # a box, with a confidence when a detector saved one
        cx, cy, w, h = values[1:5]
        score = values[5] if len(values) == 6 else 1.0
        box = ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)
    else:  # a polygon (an odd count of values), a confidence last when the count is even
        coords, score = (values[1:], 1.0) if len(values) % 2 == 1 else (values[1:-1], values[-1])
        xs, ys = coords[0::2], coords[1::2]
        box = (min(xs) * width, min(ys) * height, max(xs) * width, max(ys) * height)
    return Detection(frame, box, label, score)


def read_mot(path: Path, frames: FrameIndex) -> list[Detection]:
    """MOT det.txt / gt.txt: frame (from 1), id, left, top, width, height, conf[, class, ...]; class names
    from labels.txt beside it (anymask's MOT export writes one)."""
    if not path.is_file():
        raise AnnotationFormatError(f"{path}: expected a MOT text file (det.txt or gt.txt)")
    labels_file = path.parent / "labels.txt"
    names = read_text_file(labels_file, "labels file").split("\n") if labels_file.is_file() else []
    detections = []
    for number, line in enumerate(read_text_file(path, "MOT text file").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}: line {number}"
        try:
            values = [float(v) for v in line.replace(" ", "").split(",")]
        except ValueError:
            raise AnnotationFormatError(f"{where}: expected comma-separated numbers") from None
        if len(values) < 7:
            raise AnnotationFormatError(f"{where}: expected frame, id, left, top, width, height, conf, ...")
        if not all(math.isfinite(v) for v in values) or not values[0].is_integer():
            raise AnnotationFormatError(f"{where}: expected finite numbers and an integer frame")
        frame = frames.check(int(values[0]) - 1, where)
        left, top, w, h, score = values[2:7]
        label = "object"
        if len(values) >= 8 and values[7] > 0 and values[7].is_integer():
            cls = int(values[7])
            label = names[cls - 1].strip() if 0 < cls <= len(names) and names[cls - 1].strip() else str(cls)
        detections.append(Detection(frame, (left, top, left + w, top + h), label, score))
    return detections


def _list(value) -> list:
    return value if isinstance(value, list) else []


def read_label_studio(path: Path, frames: FrameIndex) -> list[Detection]:
    """A Label Studio JSON export: each region's box (around its mask) on the frame its task names, or a
    video task's boxes on every frame; the score of a prediction where it has one, else 1."""
    from ..formats.dataset import FrameInfo, video_fps
    from ..formats.label_studio_import import import_label_studio

    infos = [FrameInfo(i, frames.source.frame_name(i), *frames.size(i)) for i in range(frames.count)]
    dataset = import_label_studio(path, infos, video_fps(frames.source))
    return [
        Detection(frame, instance.box, instance.label, 1.0 if instance.score is None else instance.score)
        for frame, items in sorted(dataset.instances.items())
        for instance in items
        if instance.box is not None
    ]


READERS = {"coco": read_coco, "yolo": read_yolo, "mot": read_mot, "label-studio": read_label_studio}
