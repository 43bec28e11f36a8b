"""Pascal VOC: Annotations/<name>.xml (1-based inclusive boxes), JPEGImages/, ImageSets/Main, labelmap.txt."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

from ..annotations import rle as rle_codec
from ..annotations.geometry import box_to_mask
from ..annotations.shapes import palette_color
from ..atomic import atomic_write_text
from ..errors import AnnotationFormatError
from .dataset import Dataset, FrameInfo, Instance, check_frame_size, frames_by_name, read_lines, read_xml
from .frame_numbers import match_frames


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


def import_voc(path: Path, frames: list[FrameInfo] | None = None) -> Dataset:
    """Read Pascal VOC detection XML (a VOC root with Annotations/, a folder of XML files, or one file):
    each object's box (1-based, inclusive) becomes a box mask on the frame its <filename> names (else the
    XML's stem). An object with a track_id attribute (CVAT's, Datumaro's, export_voc's) is that track;
    any other box is an object of its own. Classes follow labelmap.txt when there, else first use."""
    path = Path(path)
    folder = path / "Annotations" if (path / "Annotations").is_dir() else path
    files = sorted(folder.glob("*.xml")) if folder.is_dir() else [path]
    if not files:
        raise AnnotationFormatError(f"{path}: no VOC XML files (Annotations/*.xml)")
    roots = [_annotation(file) for file in files]
    notes: list[str] = []
    if frames:
        by_name = frames_by_name(frames)
        names = [(root.findtext("filename") or "").strip() or file.stem for root, file in zip(roots, files)]
        named = [
            by_name.get(name) or by_name.get(Path(name).stem) or by_name.get(file.stem)
            for name, file in zip(names, files)
        ]
        matched, notes = match_frames(names, named, frames, [path / "JPEGImages", folder], path)
        found = [_frame(root, file, name, frame) for root, file, name, frame in zip(roots, files, names, matched)]
    else:
        found = [_declared_frame(root, file, position) for position, (root, file) in enumerate(zip(roots, files))]
    boxes = [
        (frame, *_object(e, file, frame)) for root, file, frame in zip(roots, files, found) for e in root.iter("object")
    ]
    free = max((track for *_, track in boxes if track is not None), default=-1) + 1
    instances: dict[int, list[Instance]] = {}
    for frame, label, box, track in boxes:
        if track is None:
            track, free = free, free + 1
        mask = box_to_mask(box, frame.height, frame.width)
        instances.setdefault(frame.index, []).append(Instance(track, label, rle_codec.encode(mask)))
    used = {label for _, label, _, _ in boxes}
    declared = _labelmap(path / "labelmap.txt") if path.is_dir() else []
    classes = [n for n in declared if n in used] + [n for n in dict.fromkeys(b[1] for b in boxes) if n not in declared]
    return Dataset(path.stem, frames or found, classes, instances, notes=notes)


def _annotation(file: Path) -> ET.Element:
    root = read_xml(file)
    if root.tag != "annotation":
        raise AnnotationFormatError(f"{file}: not a VOC annotation (its root is <{root.tag}>)")
    return root


def _frame(root: ET.Element, file: Path, name: str, frame: FrameInfo | None) -> FrameInfo:
    """The frame <filename> names (or the XML's stem), found; its <size>, where declared (not 0), must match."""
    if frame is None:
        raise AnnotationFormatError(f"{file}: no frame named {name} in this video or folder")
    width, height = (root.findtext(f"size/{key}", "").strip() for key in ("width", "height"))
    declared = (int(height), int(width)) if width.isdigit() and height.isdigit() else (0, 0)
    if 0 not in declared and declared != (frame.height, frame.width):
        raise AnnotationFormatError(f"{file}: size {width}x{height}, but {name} is {frame.width}x{frame.height}")
    return frame


def _declared_frame(root: ET.Element, file: Path, position: int) -> FrameInfo:
    try:
        width, height = (int(root.findtext(f"size/{key}", "")) for key in ("width", "height"))
    except ValueError:
        raise AnnotationFormatError(f"{file}: <size> needs integer width and height (or give the frames)") from None
    check_frame_size(height, width, str(file))
    return FrameInfo(position, (root.findtext("filename") or "").strip() or f"{file.stem}.jpg", height, width)


def _object(element: ET.Element, file: Path, frame: FrameInfo) -> tuple[str, tuple, int | None]:
    """(label, box in pixel edges, track id or None) of one <object>."""
    label = (element.findtext("name") or "").strip()
    if not label:
        raise AnnotationFormatError(f"{file}: an <object> has no <name>")
    try:
        xmin, ymin, xmax, ymax = (
            float(element.findtext(f"bndbox/{key}", "")) for key in ("xmin", "ymin", "xmax", "ymax")
        )
    except ValueError:
        raise AnnotationFormatError(f"{file}: object {label!r}: <bndbox> needs numbers xmin ymin xmax ymax") from None
    box = (xmin - 1, ymin - 1, xmax, ymax)  # 1-based inclusive pixels -> pixel edges
    inside = box[0] >= -1 and box[1] >= -1 and box[2] <= frame.width + 1 and box[3] <= frame.height + 1
    if not all(map(math.isfinite, box)) or box[2] <= box[0] or box[3] <= box[1] or not inside:
        raise AnnotationFormatError(
            f"{file}: object {label!r}: box {xmin:g},{ymin:g},{xmax:g},{ymax:g} is empty or outside the "
            f"{frame.width}x{frame.height} image"
        )
    track = None
    for attribute in element.iterfind("attributes/attribute"):
        if (attribute.findtext("name") or "").strip() == "track_id":
            value = (attribute.findtext("value") or "").strip()
            if not value.isdigit():
                raise AnnotationFormatError(f"{file}: object {label!r}: track_id {value!r} is not a number from 0")
            track = int(value)
    return label, box, track


def _labelmap(path: Path) -> list[str]:
    """Class names in labelmap.txt's order (Datumaro's/CVAT's `name:color:parts:actions`), background left out."""
    names = [line.split(":")[0].strip() for line in read_lines(path) if not line.startswith("#")]
    return [name for name in names if name and name != "background"]
