"""CVAT XML: export for video 1.1 (a <track> per object, `outside` where it leaves); import of video and images."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from ..annotations import rle as rle_codec
from ..annotations.geometry import box_to_mask, edge_polygon_mask
from ..annotations.shapes import palette_color
from ..atomic import atomic_write_text
from ..errors import AnnotationFormatError
from .dataset import Dataset, FrameInfo, Instance, Tracing, check_frame_size, read_xml, safe_file_name

TRACK_ATTRIBUTE = "track_id"


def export_cvat_video(dataset: Dataset, out: Path, mode: str = "polygon", tolerance: float = 1.0) -> Path:
    """mode 'rectangle' writes <box>, anything else <polygon> (all components and holes joined into one ring).

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
    """Read CVAT XML, for video (tracks) or for images: boxes, polygons and masks become object masks.

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
    for track in root.iterfind("track"):
        label, own_id = track.get("label", ""), _integer(track.get("id", "0"), path, "track id")
        for element in track:
            if element.tag in SHAPE_TAGS and element.get("outside", "0") != "1":
                number = _integer(element.get("frame"), path, f"track {own_id} frame")
                entries.append((number, _attribute_id(element, path, own_id), label, element))
    free = 1 + max((track for _, track, _, _ in entries), default=0)
    groups: dict[str, int] = {}
    for position, image in enumerate(root.iterfind("image")):
        number = _integer(image.get("id", position), path, "image id")
        for element in image:
            if element.tag not in SHAPE_TAGS:
                continue
            track = _attribute_id(element, path, None)
            if track is None:  # each shape its own object, or one per group_id
                key = f"{number}:{element.get('group_id')}" if element.get("group_id") else f"shape{len(entries)}"
                track = groups.setdefault(key, free + len(groups))
            entries.append((number, track, "", element))
    instances: dict[int, list[Instance]] = {}
    for number, track, label, element in entries:
        if not 0 <= number < len(frames):
            raise AnnotationFormatError(f"{path}: frame {number} is not in 0..{len(frames) - 1}")
        frame = frames[number]
        mask = _element_mask(element, frame, path)
        label = label or element.get("label", "")
        items = instances.setdefault(frame.index, [])
        same = next((i for i in items if i.object_id == track), None)
        if same is not None:  # a second shape of the same track on the same frame: one object
            same.rle = rle_codec.encode(same.mask | mask)
            continue
        items.append(Instance(track, label, rle_codec.encode(mask)))
    used = {i.label for items in instances.values() for i in items}
    classes = [n for n in declared if n in used] + sorted(used - set(declared))
    return Dataset(path.parent.name or "cvat", frames, classes, instances)


SHAPE_TAGS = ("box", "polygon", "mask")


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
    task = root.find("meta/task")
    task = task if task is not None else root.find("meta/job")
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
            box = [float(element.get(key)) for key in ("xtl", "ytl", "xbr", "ybr")]
            return box_to_mask(box, height, width)
        if element.tag == "polygon":
            points = [[float(v) for v in pair.split(",")] for pair in element.get("points", "").split(";")]
            return edge_polygon_mask(np.asarray(points, dtype=np.float64), height, width)
        return _cvat_mask(element, height, width)
    except (TypeError, ValueError) as exc:
        raise AnnotationFormatError(f"{where}: {exc}") from None


def _cvat_mask(element: ET.Element, height: int, width: int) -> np.ndarray:
    """CVAT's mask: runs alternating 0/1 from 0, row by row over the box [left..right] x [top..bottom]."""
    left, top, box_width, box_height = (int(element.get(key)) for key in ("left", "top", "width", "height"))
    counts = [int(v) for v in element.get("rle", "").split(",") if v.strip()]
    if sum(counts) != box_width * box_height or min(counts, default=0) < 0:
        raise ValueError(f"rle counts sum to {sum(counts)}, the box has {box_width * box_height} pixels")
    flat = np.repeat(np.arange(len(counts)) % 2 == 1, counts)
    mask = np.zeros((height, width), dtype=bool)
    patch = flat.reshape(box_height, box_width)[: max(0, height - top), : max(0, width - left)]
    mask[top : top + patch.shape[0], left : left + patch.shape[1]] = patch
    return mask
