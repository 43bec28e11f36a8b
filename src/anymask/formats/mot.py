"""MOT Challenge sequences: gt/gt.txt boxes (MOT) or RLE masks (MOTS), seqinfo.ini and img1/ frames."""

from __future__ import annotations

import configparser
import math
from pathlib import Path

from ..annotations import rle as rle_codec
from ..annotations.geometry import box_to_mask
from ..atomic import atomic_write_text
from ..errors import AnnotationFormatError
from .dataset import Dataset, FrameInfo, Instance, check_frame_size, read_lines, without_overlaps

X_ANYLABELING_CLASSES = "classes.txt"
NO_CLASS = "_background_"  # class 0, which MOT leaves unused, as X-AnyLabeling's own converters name it
MOT17_CLASSES = (  # MOT17's class column, 1-based: TrackEval scores 1 and treats 2, 7, 8, 12 as distractors
    "pedestrian", "person_on_vehicle", "car", "bicycle", "motorbike", "non_mot_vehicle", "static_person",
    "distractor", "occluder", "occluder_on_ground", "occluder_full", "reflection", "crowd",
)  # fmt: skip
MOTS_CLASSES = {"car": 1, "pedestrian": 2, "person": 2}  # MOTSChallenge's and KITTI MOTS's fixed numbers
MOTS_IGNORE = 10  # "ignore region" in both


def export_mot(dataset: Dataset, out: Path, write_images: bool = True) -> Path:
    """`out/<name>/gt/gt.txt`: frame, id, x, y, w, h, conf, class, visibility; frames from 1, ids are
    track ids (object + 1); class numbers from `mot_class_ids`, named line by line in gt/labels.txt (the
    rule Datumaro's mot_seq reads) and in gt/classes.txt from class 0 (X-AnyLabeling's rule)."""
    class_ids = mot_class_ids(dataset.classes)
    sequence = out / dataset.name
    lines = []
    for frame in dataset.each_frame():
        for instance in sorted(dataset.on(frame.index), key=lambda i: i.object_id):
            box = instance.box
            if box is None:
                continue
            x1, y1, x2, y2 = box
            lines.append(
                f"{frame.index + 1},{dataset.track_id(instance.object_id)},{x1:g},{y1:g},{x2 - x1:g},{y2 - y1:g},1,"
                f"{class_ids[instance.label]},1.0\n"
            )
        if write_images:
            dataset.write_image(frame, sequence / "img1" / f"{frame.index + 1:06d}.jpg")
    atomic_write_text(sequence / "gt" / "gt.txt", "".join(lines))
    _seqinfo(dataset, sequence, write_images)
    names = {number: name for name, number in class_ids.items()}
    names = [
        names.get(n, MOT17_CLASSES[n - 1] if n <= len(MOT17_CLASSES) else "")
        for n in range(1, max(names, default=0) + 1)
    ]
    atomic_write_text(sequence / "gt" / "labels.txt", "".join(f"{name}\n" for name in names))
    # X-AnyLabeling's MOT upload names class k by line k + 1 of the classes file it is given (from 0)
    atomic_write_text(sequence / "gt" / X_ANYLABELING_CLASSES, "".join(f"{name}\n" for name in [NO_CLASS, *names]))
    return sequence / "gt" / "gt.txt"


def mot_class_ids(classes: list[str]) -> dict[str, int]:
    """Classes named as in MOT17 keep its numbers (person counts as pedestrian, the class TrackEval
    scores); when any does, the others follow from 14, else all are numbered 1, 2, ... in order."""
    known = {name: MOT17_CLASSES.index(name.lower()) + 1 for name in classes if name.lower() in MOT17_CLASSES}
    known.update({name: 1 for name in classes if name.lower() == "person" and 1 not in known.values()})
    if not known:
        return {name: k + 1 for k, name in enumerate(classes)}
    others = [name for name in classes if name not in known]
    return {**known, **{name: len(MOT17_CLASSES) + 1 + k for k, name in enumerate(others)}}


def mots_class_ids(classes: list[str]) -> dict[str, int]:
    """car 1, pedestrian/person 2 (the numbers MOTS readers fix); other classes 3, 4, ... skipping 10."""
    ids, free = {}, 3
    for name in classes:
        if name.lower() in MOTS_CLASSES:
            ids[name] = MOTS_CLASSES[name.lower()]
            continue
        free += free == MOTS_IGNORE
        ids[name] = free
        free += 1
    return ids


def export_mots(dataset: Dataset, out: Path, write_images: bool = True) -> Path:
    """`out/<name>/gt/gt.txt` (MOTSChallenge): frame id class_id height width rle, frames from 1,
    id = class_id * 1000 + track id, overlaps resolved (higher score wins)."""
    class_ids = mots_class_ids(dataset.classes)
    too_large = next((o for o in dataset.tracks() if dataset.track_id(o) >= 1000), None)
    if too_large is not None:
        raise ValueError(f"MOTS ids are class * 1000 + track: object {too_large} does not fit (at most 998)")
    sequence = out / dataset.name
    lines = []
    for frame in dataset.each_frame():
        instances = sorted(dataset.on(frame.index), key=lambda i: i.object_id)
        for instance, mask in zip(instances, without_overlaps(instances)):
            if not mask.any():
                continue
            class_id = class_ids[instance.label]
            encoded = rle_codec.encode(mask)
            lines.append(
                f"{frame.index + 1} {class_id * 1000 + dataset.track_id(instance.object_id)} {class_id} "
                f"{frame.height} {frame.width} {encoded['counts']}\n"
            )
        if write_images:
            dataset.write_image(frame, sequence / "img1" / f"{frame.index + 1:06d}.jpg")
    atomic_write_text(sequence / "gt" / "gt.txt", "".join(lines))
    _seqinfo(dataset, sequence, write_images)
    atomic_write_text(
        sequence / "gt" / "labels.txt", "".join(f"{class_ids[name]} {name}\n" for name in dataset.classes)
    )
    return sequence / "gt" / "gt.txt"


def _seqinfo(dataset: Dataset, sequence: Path, with_images: bool) -> None:
    """seqinfo.ini; frameRate is an integer, as Datumaro's mot_seq and TrackEval parse it."""
    first = dataset.frames[0] if dataset.frames else None
    image_lines = "imDir=img1\nimExt=.jpg\n" if with_images else ""
    atomic_write_text(
        sequence / "seqinfo.ini",
        (
            f"[Sequence]\nname={dataset.name}\n{image_lines}frameRate={max(1, round(dataset.fps))}\n"
            f"seqLength={dataset.frames[-1].index + 1 if first else 0}\n"
            f"imWidth={first.width if first else 0}\nimHeight={first.height if first else 0}\n"
        ),
    )


def import_mot(path: Path, frames: list[FrameInfo] | None = None) -> Dataset:
    """Read a MOT sequence (its folder or gt.txt): each row a box on frame N (from 1) of track id; classes
    from gt/labels.txt when there, else the class numbers; track ids are the object ids.

    X-AnyLabeling's MOT export (gt.txt, det.txt and seqinfo.ini side by side) numbers frames by the digits
    of its label files' names (frame_00000.json is frame 0, vtest_000012.json frame 12) and classes from 0,
    as lines of the classes.txt it was given: read so, with that classes.txt where it lies beside or above."""
    gt, sequence = _sequence_gt(path)
    frames = frames or _frames_from_seqinfo(sequence, gt)
    x_anylabeling = gt.parent.name != "gt" and (gt.parent / "det.txt").is_file()
    names, notes = _x_anylabeling_classes(gt) if x_anylabeling else (read_lines(gt.parent / "labels.txt"), [])
    parsed = [_mot_row(line, f"{gt}: line {number}") for number, line in enumerate(read_lines(gt), start=1)]
    # MOT counts frames from 1; a file with a frame 0 counts from 0, as X-AnyLabeling's does (by file name)
    first_frame = 0 if x_anylabeling or any(row[1] == 0 for row in parsed) else 1
    first_class = 0 if x_anylabeling else 1
    rows = []
    for where, frame_number, track, class_number, box in parsed:
        last = first_frame + len(frames) - 1
        if not first_frame <= frame_number <= last:
            raise AnnotationFormatError(f"{where}: frame {frame_number} is not in {first_frame}..{last}")
        known = 0 <= class_number - first_class < len(names)
        label = names[class_number - first_class] if known else f"class{class_number}"
        rows.append((frames[frame_number - first_frame], track, label, box))
    instances: dict[int, list[Instance]] = {}
    for frame, track, label, box in rows:
        mask = box_to_mask(box, frame.height, frame.width)
        instances.setdefault(frame.index, []).append(Instance(track, label, rle_codec.encode(mask)))
    used = {label for _, _, label, _ in rows}
    classes = [n for n in names if n in used] + sorted(used - set(names))
    return Dataset(sequence.name, frames, classes, instances, notes=notes)


def _mot_row(line: str, where: str) -> tuple[str, int, int, int, tuple[float, float, float, float]]:
    """(where, frame number, track id, class number, box in pixel edges) of one gt.txt row."""
    fields = [v.strip() for v in line.split(",")]
    if len(fields) == 1 and len(line.split()) == 6:
        raise AnnotationFormatError(f"{where}: this is MOTS (frame id class height width rle): import it as mots")
    try:
        frame_number, track, x, y, w, h = int(fields[0]), int(fields[1]), *map(float, fields[2:6])
        class_number = int(float(fields[7])) if len(fields) > 7 else 1
    except (ValueError, IndexError):
        raise AnnotationFormatError(f"{where}: expected frame,id,x,y,w,h[,conf,class,visibility]") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0 or track < 0:
        raise AnnotationFormatError(f"{where}: expected a box of positive size and a track id from 0")
    return where, frame_number, track, class_number, (x, y, x + w, y + h)


def _x_anylabeling_classes(gt: Path) -> tuple[list[str], list[str]]:
    """The class names of X-AnyLabeling's MOT rows (class k: line k + 1 of the classes.txt beside gt.txt or
    in a folder above it), and a note saying where they came from or that they are numbers."""
    for folder in (gt.parent, gt.parent.parent, gt.parent.parent.parent):
        if (folder / "classes.txt").is_file():
            return read_lines(folder / "classes.txt"), [
                f"X-AnyLabeling's MOT: frames from 0, classes from {folder / 'classes.txt'}"
            ]
    return [], ["X-AnyLabeling's MOT: frames from 0; no classes.txt beside it, so classes are numbered (class0, ...)"]


def import_mots(path: Path, frames: list[FrameInfo] | None = None) -> Dataset:
    """Read a MOTS sequence (its folder or gt.txt; MOTSChallenge or KITTI MOTS text): each row
    `frame id class_id height width rle`, an RLE mask of id class_id * 1000 + instance (the object id is
    the instance, see _mots_object_ids). Frames count from 1 (MOTSChallenge), or from 0 where some row
    has frame 0 (KITTI MOTS). Ignore regions (class 10) are left out and counted in the notes. Class names
    come from gt/labels.txt ("number name" lines, as export_mots writes them), else car and pedestrian for
    1 and 2, else the class numbers."""
    gt, sequence = _sequence_gt(path)
    frames = frames or _frames_from_seqinfo(sequence, gt)
    names = _mots_names(gt.parent / "labels.txt")  # in the file's order
    for name, class_id in MOTS_CLASSES.items():
        names.setdefault(class_id, name)  # car 1, pedestrian 2 (person is pedestrian's other name)
    rows = []
    for number, line in enumerate(read_lines(gt), start=1):
        fields = line.split()
        try:
            frame_number, object_id, class_id, height, width = (int(v) for v in fields[:5])
            if len(fields) != 6:
                raise ValueError
        except ValueError:
            raise AnnotationFormatError(f"{gt}: line {number}: expected frame id class_id height width rle") from None
        rows.append((number, frame_number, object_id, class_id, height, width, fields[5]))
    first = 0 if any(row[1] == 0 for row in rows) else 1
    object_of = _mots_object_ids({row[2] for row in rows if row[3] != MOTS_IGNORE})
    instances: dict[int, list[Instance]] = {}
    ignored, used = 0, set()
    for number, frame_number, object_id, class_id, height, width, counts in rows:
        where = f"{gt}: line {number}"
        if not first <= frame_number < first + len(frames):
            raise AnnotationFormatError(f"{where}: frame {frame_number} is not in {first}..{first + len(frames) - 1}")
        frame = frames[frame_number - first]
        if (height, width) != (frame.height, frame.width):
            raise AnnotationFormatError(f"{where}: mask is {height}x{width}, the frame {frame.height}x{frame.width}")
        if class_id == MOTS_IGNORE:
            ignored += 1
            continue
        encoded = {"size": [height, width], "counts": counts}
        try:
            rle_codec.decode(encoded)
        except ValueError as exc:
            raise AnnotationFormatError(f"{where}: {exc}") from None
        label = names.get(class_id, f"class{class_id}")
        used.add(label)
        instances.setdefault(frame.index, []).append(Instance(object_of[object_id], label, encoded))
    classes = [n for n in names.values() if n in used] + sorted(used - set(names.values()))
    notes = [f"left out {ignored} ignore region(s) (class {MOTS_IGNORE})"] if ignored else []
    return Dataset(sequence.name, frames, classes, instances, notes=notes)


def _mots_object_ids(ids: set[int]) -> dict[int, int]:
    """MOTS id -> object id: the instance number (id % 1000, the track id export_mots writes) where no two
    classes share one, else the whole id."""
    instance = {i: i % 1000 for i in ids}
    return instance if len(set(instance.values())) == len(ids) else {i: i for i in ids}


def _mots_names(path: Path) -> dict[int, str]:
    names = {}
    for number, line in enumerate(read_lines(path), start=1):
        class_id, _, name = line.strip().partition(" ")
        if not class_id.isdigit() or not name.strip():
            raise AnnotationFormatError(f"{path}: line {number}: expected a class number and a name")
        names[int(class_id)] = name.strip()
    return names


def _sequence_gt(path: Path) -> tuple[Path, Path]:
    """(gt.txt, the sequence folder) of a MOT/MOTS sequence folder, its gt.txt, or an export's root."""
    path = Path(path)
    if path.is_dir() and not (path / "gt").is_dir() and not (path / "gt.txt").is_file():  # an export's root
        sequences = [p for p in sorted(path.iterdir()) if (p / "gt" / "gt.txt").is_file()]
        path = sequences[0] if len(sequences) == 1 else path
    gt = path / "gt" / "gt.txt" if path.is_dir() else path
    if path.is_dir() and not gt.is_file() and (path / "gt.txt").is_file():
        gt = path / "gt.txt"  # X-AnyLabeling's MOT export: gt.txt, det.txt and seqinfo.ini side by side
    if not gt.is_file():
        raise AnnotationFormatError(f"{path}: no gt/gt.txt")
    return gt, gt.parent.parent if gt.parent.name == "gt" else gt.parent


def _frames_from_seqinfo(sequence: Path, gt: Path) -> list[FrameInfo]:
    info = configparser.ConfigParser()
    try:
        info.read(sequence / "seqinfo.ini", encoding="utf-8")
        section = info["Sequence"]
        length, width, height = (int(section[key]) for key in ("seqLength", "imWidth", "imHeight"))
    except (KeyError, ValueError, configparser.Error):
        raise AnnotationFormatError(
            f"{sequence / 'seqinfo.ini'}: needs seqLength, imWidth and imHeight (or open the video first)"
        ) from None
    check_frame_size(height, width, str(sequence / "seqinfo.ini"))
    if not 0 < length <= 10_000_000:
        raise AnnotationFormatError(f"{sequence / 'seqinfo.ini'}: seqLength {length} is not a frame count")
    suffix = section.get("imExt", ".jpg")
    return [FrameInfo(i, f"{i + 1:06d}{suffix}", height, width) for i in range(length)]
