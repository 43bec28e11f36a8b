"""Pascal VOC: Annotations/<name>.xml (1-based inclusive boxes), JPEGImages/, ImageSets/Main/default.txt."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from ..atomic import atomic_write_text
from .dataset import Dataset


def export_voc(dataset: Dataset, out: Path, write_images: bool = True) -> Path:
    names = []
    for frame in dataset.each_frame():
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
            ET.SubElement(obj, "track_id").text = str(instance.object_id)
            bndbox = ET.SubElement(obj, "bndbox")
            for key, value in (("xmin", x1 + 1), ("ymin", y1 + 1), ("xmax", x2), ("ymax", y2)):
                ET.SubElement(bndbox, key).text = str(value)
        ET.indent(root)
        atomic_write_text(out / "Annotations" / f"{stem}.xml", ET.tostring(root, encoding="unicode") + "\n")
        if write_images:
            dataset.write_image(frame, out / "JPEGImages" / image_name)
        names.append(stem)
    atomic_write_text(out / "ImageSets" / "Main" / "default.txt", "".join(f"{n}\n" for n in names))
    return out
