"""Which import format a file or folder looks like, from its names and its first bytes, for a hint when the
chosen importer refuses it."""

from __future__ import annotations

import re
from pathlib import Path

SNIFF_BYTES = 65536  # only the head of a file is read: a guess must stay cheap on a 2 GB COCO file
LABEL_FILE_FAMILY = {"xanylabeling", "labelme"}  # one importer reads both
TITLES = {
    "coco": "COCO JSON",
    "youtube-vis": "YouTube-VIS JSON",
    "xanylabeling": "X-AnyLabeling/labelme JSON",
    "cvat": "CVAT XML",
    "voc": "Pascal VOC XML",
    "yolo": "a YOLO dataset",
    "mot": "MOT text",
    "mots": "MOTS text",
    "davis": "DAVIS PNG masks",
    "label-studio": "Label Studio JSON",
}


def guess_format(path: Path) -> str | None:
    """The import format `path` looks like (an IMPORT_FORMATS name), or None when nothing is recognised."""
    try:
        return _guess_folder(path) if path.is_dir() else _guess_file(path)
    except OSError:
        return None


def format_hint(path: Path, chosen: str) -> str:
    """'; it looks like X: import it as X' when `path` looks like another format than `chosen`, else ''."""
    guess = guess_format(Path(path))
    if guess is None or guess == chosen or {guess, chosen} <= LABEL_FILE_FAMILY:
        return ""
    return f"; it looks like {TITLES[guess]}: import it as {guess}"


def _guess_folder(folder: Path) -> str | None:
    if (folder / "data.yaml").is_file():
        return "yolo"
    if (folder / "annotations.xml").is_file():
        return "cvat"
    if (folder / "Annotations" / "480p").is_dir():
        return "davis"
    if any((folder / "Annotations").glob("*.xml")):
        return "voc"
    if any((folder / "annotations").glob("*.json")):
        return "coco"
    # gt.txt on its own: X-AnyLabeling's MOT export (beside det.txt and seqinfo.ini)
    candidates = (folder / "tasks.json", folder / "instances.json", folder / "gt" / "gt.txt", folder / "gt.txt")
    for file in (*candidates, *sorted(folder.glob("*/gt/gt.txt"))[:1]):
        if file.is_file():
            return _guess_file(file)
    if (folder / "obj.names").is_file() or ((folder / "classes.txt").is_file() and _yolo_labels_below(folder)):
        return "yolo"  # Darknet's (CVAT's YOLO 1.1) or X-AnyLabeling's
    if any(folder.glob("*.png")):
        return "davis"
    for pattern in ("*.json", "*.xml"):
        first = next(iter(sorted(folder.glob(pattern))), None)
        if first is not None:
            return _guess_file(first)
    return None


def _guess_file(path: Path) -> str | None:
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yolo"
    if suffix not in (".json", ".xml", ".txt"):
        return None
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES).decode("utf-8", errors="replace")
    if suffix == ".json":
        return _guess_json(head)
    if suffix == ".xml":
        return {"annotations": "cvat", "annotation": "voc"}.get(_root_tag(head))
    return _guess_text(head)


def _guess_json(head: str) -> str | None:
    keys = set(re.findall(r'"(\w+)"\s*:', head))
    if {"from_name", "to_name"} <= keys or ("data" in keys and "annotations" in keys and "images" not in keys):
        return "label-studio"
    if {"shapes", "imagePath"} <= keys:
        return "xanylabeling"
    if {"videos", "segmentations"} <= keys or "file_names" in keys:
        return "youtube-vis"
    if "annotations" in keys and ("images" in keys or "image_id" in keys):
        return "coco"
    return None


def _root_tag(head: str) -> str | None:
    found = re.search(r"<([A-Za-z_][\w.-]*)", re.sub(r"<[?!][^>]*>", "", head))
    return found.group(1) if found else None


def _guess_text(head: str) -> str | None:
    line = next((line for line in head.splitlines() if line.strip()), "")
    spaced, commas = line.split(), line.split(",")
    if len(spaced) == 6 and all(field.isdigit() for field in spaced[:5]):
        return "mots"
    if len(commas) >= 6 and all(_is_number(field) for field in commas[:6]):
        return "mot"
    return None


def _yolo_labels_below(folder: Path) -> bool:
    """Whether the first other .txt file in or below `folder` starts with a YOLO label line (class, then
    normalised numbers)."""
    first = next((f for f in sorted(folder.rglob("*.txt")) if f.name != "classes.txt"), None)
    if first is None:
        return False
    with open(first, "rb") as handle:
        fields = handle.read(SNIFF_BYTES).decode("utf-8", errors="replace").split("\n", 1)[0].split()
    return len(fields) >= 5 and fields[0].isdigit() and all(_is_number(f) for f in fields[1:])


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
