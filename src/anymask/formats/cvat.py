"""CVAT XML: export for video 1.1 (a <track> per object, `outside` where it leaves); import of video and images."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np

from ..annotations import rle as rle_codec
from ..annotations.geometry import edge_polygon_mask, ellipse_mask, mask_to_rotated_box, turned_box_mask, unrotated_box
from ..annotations.shapes import palette_color
from ..atomic import atomic_write_text
from ..errors import AnnotationFormatError
from .dataset import Dataset, FrameInfo, Instance, Tracing, add_part, check_frame_size, read_xml, safe_file_name

TRACK_ATTRIBUTE = "track_id"


def export_cvat_video(dataset: Dataset, out: Path, mode: str = "polygon", tolerance: float = 1.0) -> Path:
    """mode 'rectangle' writes <box>, 'rotation' a rotated <box> (the minimum-area rectangle, turned by its
    `rotation` in degrees clockwise), anything else <polygon> (all components and holes joined into one ring).

    The track's id is the track id (object + 1), which Datumaro keeps; each shape also carries it as the
    `track_id` attribute, declared under its label, which CVAT keeps when it renumbers tracks on upload."""
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    _meta(root, dataset)
    tracks = dataset.tracks()
    shapes: dict[int, list[ET.Element | None]] = {object_id: [] for object_id in tracks}
    tracing = Tracing(tolerance, pixel_edges=True, joined=True) if mode != "rectangle" else None
    for frame in dataset.each_frame(tracing):  # rings traced ahead on every core; progress per frame
        present = {i.object_id: i for i in dataset.on(frame.index)}
        for object_id, found in shapes.items():
            instance = present.get(object_id)
            found.append(_shape(instance, frame.index, mode, tolerance) if instance is not None else None)
    for object_id, label in tracks.items():
        track = ET.SubElement(root, "track", id=str(dataset.track_id(object_id)), label=label, source="semi-auto")
        previous = None
        for frame, element in zip(dataset.frames, shapes.pop(object_id), strict=True):
            if element is not None:
                ET.SubElement(element, "attribute", name=TRACK_ATTRIBUTE).text = str(dataset.track_id(object_id))
            if element is None:
                if previous is not None:  # the object left: repeat its last shape marked outside
                    gone = ET.SubElement(
                        track, previous.tag, dict(previous.attrib, frame=str(frame.index), outside="1", keyframe="1")
                    )
                    ET.SubElement(gone, "attribute", name=TRACK_ATTRIBUTE).text = str(dataset.track_id(object_id))
                    previous = None
                continue
            track.append(element)
            previous = element
    ET.indent(root)
    path = out if out.suffix == ".xml" else out / "annotations.xml"
    atomic_write_text(path, '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n")
    return path


def _shape(instance, frame: int, mode: str, tolerance: float) -> ET.Element | None:
    common = {"frame": str(frame), "outside": "0", "occluded": "0", "keyframe": "1", "z_order": "0"}
    if mode == "rectangle":
        box = instance.box
        if box is None:
            return None
        return ET.Element(
            "box", dict(common, xtl=f"{box[0]:.2f}", ytl=f"{box[1]:.2f}", xbr=f"{box[2]:.2f}", ybr=f"{box[3]:.2f}")
        )
    if mode == "rotation":
        rotated = mask_to_rotated_box(instance.mask)
        if rotated is None:
            return None
        (x1, y1, x2, y2), degrees = unrotated_box(*rotated)
        fields = dict(xtl=f"{x1:.2f}", ytl=f"{y1:.2f}", xbr=f"{x2:.2f}", ybr=f"{y2:.2f}", rotation=f"{degrees:.2f}")
        return ET.Element("box", dict(common, **fields))
    ring = instance.ring(tolerance, pixel_edges=True)
    if ring is None:
        return None
    points = ";".join(f"{x:.2f},{y:.2f}" for x, y in ring)
    return ET.Element("polygon", dict(common, points=points))


def _meta(root: ET.Element, dataset: Dataset) -> None:
    task = ET.SubElement(ET.SubElement(root, "meta"), "task")
    count = len(dataset.frames)
    for key, value in (
        ("id", "0"),
        ("name", dataset.name),
        ("size", str(count)),
        ("mode", "interpolation"),
        ("overlap", "0"),
        ("start_frame", "0"),
        ("stop_frame", str(max(0, count - 1))),
    ):
        ET.SubElement(task, key).text = value
    labels = ET.SubElement(task, "labels")
    for index, name in enumerate(dataset.classes):
        label = ET.SubElement(labels, "label")
        ET.SubElement(label, "name").text = name
        ET.SubElement(label, "color").text = "#{:02x}{:02x}{:02x}".format(*palette_color(index))
        attribute = ET.SubElement(ET.SubElement(label, "attributes"), "attribute")
        for key, value in (
            ("name", TRACK_ATTRIBUTE),
            ("mutable", "False"),
            ("input_type", "number"),
            ("default_value", "1"),
            ("values", "1;1000000000;1"),  # CVAT's number attribute: min;max;step
        ):
            ET.SubElement(attribute, key).text = value
    size = ET.SubElement(task, "original_size")
    first = dataset.frames[0] if dataset.frames else None
    ET.SubElement(size, "width").text = str(first.width if first else 0)
    ET.SubElement(size, "height").text = str(first.height if first else 0)


def import_cvat(path: Path, frames: list[FrameInfo] | None = None) -> Dataset:
    """Read CVAT XML, for video (tracks) or for images: boxes (rotated too), polygons, ellipses and masks
    become object masks; points, polylines, skeletons, cuboids and tags are counted in the notes.

    An object is a track (its `track_id` attribute when there, else the track's id) or, in the images
    layout, each shape alone unless it has a group_id; classes keep the file's label order."""
    path = Path(path)
    path = path / "annotations.xml" if path.is_dir() else path
    root = read_xml(path)
    if root.tag != "annotations":
        raise AnnotationFormatError(f"{path}: not CVAT XML (its root is <{root.tag}>, not <annotations>)")
    declared = [e.text or "" for e in root.iterfind("meta/*/labels/label/name")]
    frames = frames or _cvat_frames(root, path)
    entries = []  # (frame, track, label, element)
    skipped: Counter[str] = Counter()
    for track in root.iterfind("track"):
        label, own_id = track.get("label", ""), _integer(track.get("id", "0"), path, "track id")
        for element in track:
            if element.get("outside", "0") == "1" or not _is_area(element, skipped):
                continue
            number = _integer(element.get("frame"), path, f"track {own_id} frame")
            entries.append((number, _attribute_id(element, path, own_id), label, element))
    free = 1 + max((track for _, track, _, _ in entries), default=0)
    groups: dict[str, int] = {}
    for position, image in enumerate(root.iterfind("image")):
        number = _integer(image.get("id", position), path, "image id")
        for element in image:
            if not _is_area(element, skipped):
                continue
            track = _attribute_id(element, path, None)
            if track is None:  # each shape its own object, or one per group_id
                key = f"{number}:{element.get('group_id')}" if element.get("group_id") else f"shape{len(entries)}"
                track = groups.setdefault(key, free + len(groups))
            entries.append((number, track, "", element))
    position, notes = _frame_positions(root, path, [number for number, *_ in entries], len(frames))
    if skipped:
        kinds = ", ".join(f"{count} {tag}" for tag, count in skipped.items())
        notes.append(f"left out {sum(skipped.values())} shape(s) that are not areas ({kinds})")
    instances: dict[int, list[Instance]] = {}
    for number, track, label, element in entries:
        frame = frames[position(number)]
        mask = _element_mask(element, frame, path)
        label = label or element.get("label", "")
        add_part(instances.setdefault(frame.index, []), Instance(track, label, rle_codec.encode(mask)))
    used = {i.label for items in instances.values() for i in items}
    classes = [n for n in declared if n in used] + sorted(used - set(declared))
    return Dataset(path.parent.name or "cvat", frames, classes, instances, notes=notes)


SHAPE_TAGS = ("box", "polygon", "ellipse", "mask")
OTHER_SHAPE_TAGS = ("points", "polyline", "skeleton", "cuboid", "tag")


def _is_area(element: ET.Element, skipped: Counter[str]) -> bool:
    """A shape that becomes a mask; other shapes are counted by kind in `skipped`."""
    if element.tag in OTHER_SHAPE_TAGS:
        skipped[element.tag] += 1
    return element.tag in SHAPE_TAGS


def _integer(value, path: Path, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise AnnotationFormatError(f"{path}: {what}: expected an integer, got {value!r}") from None


def _attribute_id(element: ET.Element, path: Path, default: int | None) -> int | None:
    for attribute in element.iterfind("attribute"):
        if attribute.get("name") in (TRACK_ATTRIBUTE, "anymask_object_id"):
            return _integer((attribute.text or "").strip(), path, f"attribute {attribute.get('name')}")
    return default


def _frame_positions(root: ET.Element, path: Path, numbers: list[int], count: int):
    """How the file's frame numbers index the frames, and a note when they are not taken as they are.

    CVAT writes a task's absolute frame numbers: start_frame + step x the task's own frame index (a task
    made from frames 10, 13, 16, 19 of a video has frame_filter step=3). They index the whole video as
    they are; where they do not fit, as with the task's frames alone, they become the task's index."""
    if all(0 <= n < count for n in numbers):
        return (lambda n: n), []
    start, step = _task_numbering(_task_meta(root), path)
    relative = [(n - start) // step for n in numbers]
    fits = all((n - start) % step == 0 for n in numbers) and all(0 <= r < count for r in relative)
    if (start, step) == (0, 1) or not fits:
        wrong = next(n for n, r in zip(numbers, relative) if not (0 <= r < count and (n - start) % step == 0))
        numbering = f" (the task's frames start at {start}, step {step})" if (start, step) != (0, 1) else ""
        raise AnnotationFormatError(f"{path}: frame {wrong} is not in 0..{count - 1}{numbering}")
    note = f"CVAT task frames from {start}, step {step}, read as frames 0..{count - 1}"
    return (lambda n: (n - start) // step), [note]


def _task_meta(root: ET.Element) -> ET.Element | None:
    """The <meta> entry of the task the file was dumped from, or of its job."""
    task = root.find("meta/task")
    return task if task is not None else root.find("meta/job")


def _task_numbering(task: ET.Element | None, path: Path) -> tuple[int, int]:
    """The task's start_frame and frame step (frame_filter "step=N"), (0, 1) where the meta has none."""
    if task is None:
        return 0, 1
    start = _integer(task.findtext("start_frame") or "0", path, "start_frame")
    found = re.fullmatch(r"\s*step\s*=\s*(\d+)\s*", task.findtext("frame_filter") or "")
    step = int(found.group(1)) if found else 1
    return start, max(step, 1)


def _cvat_frames(root: ET.Element, path: Path) -> list[FrameInfo]:
    images = list(root.iterfind("image"))
    if images:
        return [
            FrameInfo(
                i,
                safe_file_name(image.get("name", ""), f"{i:06d}.jpg"),
                *check_frame_size(
                    _integer(image.get("height"), path, "image height"),
                    _integer(image.get("width"), path, "image width"),
                    f"{path}: image {image.get('name')!r}",
                ),
            )
            for i, image in enumerate(images)
        ]
    task = _task_meta(root)
    size = task.find("original_size") if task is not None else None
    if size is None:
        raise AnnotationFormatError(f"{path}: meta has no original_size (open the video first)")
    width = _integer(size.findtext("width"), path, "original_size width")
    height = _integer(size.findtext("height"), path, "original_size height")
    check_frame_size(height, width, str(path))
    count = _integer(task.findtext("size"), path, "task size")
    return [FrameInfo(i, f"frame_{i:06d}.jpg", height, width) for i in range(count)]


def _element_mask(element: ET.Element, frame: FrameInfo, path: Path) -> np.ndarray:
    height, width = frame.height, frame.width
    where = f"{path}: frame {frame.index} <{element.tag}>"
    try:
        if element.tag == "box":
            return turned_box_mask(_numbers(element, ("xtl", "ytl", "xbr", "ybr")), _rotation(element), height, width)
        if element.tag == "ellipse":
            return ellipse_mask(*_numbers(element, ("cx", "cy", "rx", "ry")), _rotation(element), height, width)
        if element.tag == "polygon":
            points = [[float(v) for v in pair.split(",")] for pair in element.get("points", "").split(";")]
            if not np.isfinite(points).all():
                raise ValueError("points must be finite numbers")
            return edge_polygon_mask(np.asarray(points, dtype=np.float64), height, width)
        return _cvat_mask(element, height, width)
    except (TypeError, ValueError) as exc:
        raise AnnotationFormatError(f"{where}: {exc}") from None


def _numbers(element: ET.Element, keys: tuple[str, ...], default: float | None = None) -> list[float]:
    """Finite numbers from the element's attributes (`default` where one is missing, if given)."""
    values = []
    for key in keys:
        text = element.get(key)
        value = default if text is None and default is not None else float(text)
        if not np.isfinite(value):
            raise ValueError(f"{key} must be a finite number, got {text!r}")
        values.append(value)
    return values


def _rotation(element: ET.Element) -> float:
    return _numbers(element, ("rotation",), 0.0)[0]


def _cvat_mask(element: ET.Element, height: int, width: int) -> np.ndarray:
    """CVAT's mask: runs alternating 0/1 from 0, row by row over the box [left..right] x [top..bottom]."""
    left, top, box_width, box_height = (int(element.get(key)) for key in ("left", "top", "width", "height"))
    if min(left, top, box_width, box_height) < 0 or left + box_width > width or top + box_height > height:
        raise ValueError(f"the mask's box {left},{top} {box_width}x{box_height} is outside the {width}x{height} image")
    counts = [int(v) for v in element.get("rle", "").split(",") if v.strip()]
    if sum(counts) != box_width * box_height or min(counts, default=0) < 0:
        raise ValueError(f"rle counts sum to {sum(counts)}, the box has {box_width * box_height} pixels")
    flat = np.repeat(np.arange(len(counts)) % 2 == 1, counts)
    mask = np.zeros((height, width), dtype=bool)
    patch = flat.reshape(box_height, box_width)[: max(0, height - top), : max(0, width - left)]
    mask[top : top + patch.shape[0], left : left + patch.shape[1]] = patch
    return mask
