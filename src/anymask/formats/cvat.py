"""CVAT for video 1.1 XML: one <track> per object, a box or polygon per frame, `outside` where it leaves."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..annotations.shapes import palette_color
from ..atomic import atomic_write_text
from .dataset import Dataset


def export_cvat_video(dataset: Dataset, out: Path, mode: str = "polygon", tolerance: float = 1.0) -> Path:
    """mode 'rectangle' writes <box>, anything else <polygon> (the object's largest component)."""
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    _meta(root, dataset)
    tracks = dataset.tracks()
    for track_number, (object_id, label) in enumerate(tracks.items()):
        track = ET.SubElement(root, "track", id=str(track_number), label=label, source="semi-auto")
        ET.SubElement(track, "attribute", name="anymask_object_id").text = str(object_id)
        previous = None
        for frame in dataset.frames:
            instance = next((i for i in dataset.on(frame.index) if i.object_id == object_id), None)
            element = _shape(instance, frame.index, mode, tolerance) if instance is not None else None
            if element is None:
                if previous is not None:  # the object left: repeat its last shape marked outside
                    gone = ET.SubElement(
                        track, previous.tag, dict(previous.attrib, frame=str(frame.index), outside="1", keyframe="1")
                    )
                    gone.tail = None
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
    polygons = [p for p in instance.polygons(tolerance, pixel_edges=True) if len(p.exterior) >= 3]
    if not polygons:
        return None
    largest = max(polygons, key=lambda p: len(p.exterior))
    points = ";".join(f"{x:.2f},{y:.2f}" for x, y in largest.ring())
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
        ET.SubElement(label, "attributes")
    size = ET.SubElement(task, "original_size")
    first = dataset.frames[0] if dataset.frames else None
    ET.SubElement(size, "width").text = str(first.width if first else 0)
    ET.SubElement(size, "height").text = str(first.height if first else 0)
