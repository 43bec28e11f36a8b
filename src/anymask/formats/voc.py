"""Pascal VOC: Annotations/<name>.xml (1-based inclusive boxes), JPEGImages/, ImageSets/Main, labelmap.txt."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..annotations.shapes import palette_color
from ..atomic import atomic_write_text
from .dataset import Dataset


def export_voc(dataset: Dataset, out: Path, write_images: bool = True, empty_frames: bool = False) -> Path:
    names = []
    for frame in dataset.each_frame():
        if not empty_frames and not dataset.on(frame.index):
            continue
        stem = dataset.stem(frame)
        image_name = dataset.image_name(frame, (".jpg", ".jpeg"))
        root = ET.Element("annotation")
        ET.SubElement(root, "folder").text = "JPEGImages"
        ET.SubElement(root, "filename").text = image_name
        size = ET.SubElement(root, "size")
        for key, value in (("width", frame.width), ("height", frame.height), ("depth", 3)):
            ET.SubElement(size, key).text = str(value)
        ET.SubElement(root, "segmented").text = "0"
        for instance in dataset.on(frame.index):
            box = instance.box
            if box is None:
                continue
            x1, y1, x2, y2 = (int(round(v)) for v in box)
            obj = ET.SubElement(root, "object")
            ET.SubElement(obj, "name").text = instance.label
            ET.SubElement(obj, "pose").text = "Unspecified"
            touches = x1 <= 0 or y1 <= 0 or x2 >= frame.width or y2 >= frame.height
            ET.SubElement(obj, "truncated").text = str(int(touches))
            ET.SubElement(obj, "difficult").text = "0"
            attribute = ET.SubElement(ET.SubElement(obj, "attributes"), "attribute")  # Datumaro's and CVAT's
            ET.SubElement(attribute, "name").text = "track_id"
            ET.SubElement(attribute, "value").text = str(dataset.track_id(instance.object_id))
            bndbox = ET.SubElement(obj, "bndbox")
            for key, value in (("xmin", x1 + 1), ("ymin", y1 + 1), ("xmax", x2), ("ymax", y2)):
                ET.SubElement(bndbox, key).text = str(value)
        ET.indent(root)
        atomic_write_text(out / "Annotations" / f"{stem}.xml", ET.tostring(root, encoding="unicode") + "\n")
        if write_images:
            dataset.write_image(frame, out / "JPEGImages" / image_name)
        names.append(stem)
    atomic_write_text(out / "ImageSets" / "Main" / "default.txt", "".join(f"{n}\n" for n in names))
    atomic_write_text(out / "labelmap.txt", labelmap(dataset.classes))
    return out


def labelmap(classes: list[str]) -> str:
    """Datumaro's/CVAT's labelmap.txt: every class declared (with its colour), background first."""
    lines = ["# label:color_rgb:parts:actions", "background:0,0,0::"]
    for index, name in enumerate(classes):
        red, green, blue = palette_color(index)
        lines.append(f"{name}:{red},{green},{blue}::")
    return "\n".join(lines) + "\n"
