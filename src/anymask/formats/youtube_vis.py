"""YouTube-VIS JSON: one video, one annotation per object with a per-frame list of RLE masks (or null)."""

from __future__ import annotations

import json
from pathlib import Path

from ..annotations import rle as rle_codec
from ..atomic import atomic_write_text
from ..checks import is_int_in, read_json_file
from ..errors import AnnotationFormatError
from .coco import category_names
from .dataset import Dataset, FrameInfo, Instance, check_frame_size


def export_youtube_vis(dataset: Dataset, out: Path, write_images: bool = False) -> Path:
    length = len(dataset.frames)
    first = dataset.frames[0]
    file_names = [f"{dataset.name}/{frame.index:05d}.jpg" for frame in dataset.frames]
    per_object: dict[int, dict] = {}
    for frame in dataset.each_frame():
        for instance in dataset.on(frame.index):
            entry = per_object.setdefault(
                instance.object_id,
                {
                    "label": instance.label,
                    "segmentations": [None] * length,
                    "bboxes": [None] * length,
                    "areas": [None] * length,
                    "scores": [],
                },
            )
            box = instance.box
            if box is None:
                continue
            entry["segmentations"][frame.index] = instance.rle
            entry["bboxes"][frame.index] = [box[0], box[1], box[2] - box[0], box[3] - box[1]]
            entry["areas"][frame.index] = int(instance.mask.sum())
            if instance.score is not None:
                entry["scores"].append(instance.score)
    annotations = []
    for object_id, entry in sorted(per_object.items()):
        annotations.append(
            {
                "id": dataset.track_id(object_id),
                "video_id": 1,
                "category_id": dataset.class_index(entry["label"]) + 1,
                "segmentations": entry["segmentations"],
                "bboxes": entry["bboxes"],
                "areas": entry["areas"],
                "iscrowd": 0,
                "length": 1,
                "track_id": dataset.track_id(object_id),
                **({"score": sum(entry["scores"]) / len(entry["scores"])} if entry["scores"] else {}),
            }
        )
    document = {
        "info": {"description": f"{dataset.name}, exported by anymask"},
        "licenses": [],
        "videos": [
            {
                "id": 1,
                "name": dataset.name,
                "width": first.width,
                "height": first.height,
                "length": length,
                "file_names": file_names,
            }
        ],
        "annotations": annotations,
        "categories": [{"id": i + 1, "name": name, "supercategory": ""} for i, name in enumerate(dataset.classes)],
    }
    path = out / "instances.json"
    atomic_write_text(path, json.dumps(document))
    if write_images:
        for frame, name in zip(dataset.frames, file_names):
            dataset.write_image(frame, out / "JPEGImages" / name)
    return path


def import_youtube_vis(path: Path, frames: list[FrameInfo] | None = None) -> Dataset:
    """Read a YouTube-VIS instances JSON (or a folder holding instances.json) of one video: each annotation
    is an object (its id), its segmentations[i] (COCO RLE, compressed or not, or null) the mask on frame i."""
    path = Path(path)
    path = path / "instances.json" if path.is_dir() else path
    document = read_json_file(path, "YouTube-VIS JSON file")
    if not isinstance(document, dict) or not all(isinstance(document.get(k), list) for k in _KEYS):
        raise AnnotationFormatError(f"{path}: expected an object with the lists {', '.join(_KEYS)}")
    if len(document["videos"]) != 1:
        raise AnnotationFormatError(f"{path}: holds {len(document['videos'])} videos; a project is one video")
    frames = frames or _declared_frames(path, document["videos"][0])
    names = category_names(path, document["categories"])
    instances: dict[int, list[Instance]] = {}
    for i, annotation in enumerate(document["annotations"]):
        where = f"{path}: annotations[{i}]"
        fields = (
            [annotation.get(k) for k in ("id", "category_id", "segmentations")] if isinstance(annotation, dict) else []
        )
        if len(fields) != 3 or not is_int_in(fields[0], 0, 2**63 - 1) or not isinstance(fields[2], list):
            raise AnnotationFormatError(f"{where}: expected an id from 0, a category_id and a segmentations list")
        object_id, category, masks = fields
        if category not in names:
            raise AnnotationFormatError(f"{where}: category_id {category!r} is not in categories")
        if len(masks) > len(frames):
            raise AnnotationFormatError(f"{where}: {len(masks)} segmentations, but the video has {len(frames)} frames")
        for frame, segmentation in zip(frames, masks):
            if segmentation is not None:
                rle = _mask(segmentation, frame, f"{where}.segmentations[{frame.index}]")
                instances.setdefault(frame.index, []).append(Instance(object_id, names[category], rle))
    used = {i.label for items in instances.values() for i in items}
    return Dataset(path.parent.name, frames, [n for n in names.values() if n in used], instances)


_KEYS = ("videos", "annotations", "categories")


def _declared_frames(path: Path, video) -> list[FrameInfo]:
    fields = [video.get(k) for k in ("height", "width", "file_names")] if isinstance(video, dict) else []
    if len(fields) != 3 or not isinstance(fields[2], list) or not all(isinstance(n, str) for n in fields[2]):
        raise AnnotationFormatError(f"{path}: videos[0]: expected height, width and file_names (or open the video)")
    height, width = check_frame_size(fields[0], fields[1], f"{path}: videos[0]")
    return [FrameInfo(i, name, height, width) for i, name in enumerate(fields[2])]


def _mask(segmentation, frame: FrameInfo, where: str) -> dict:
    """A compressed RLE of one frame's segmentation, its size checked against the frame's before decoding."""
    if not isinstance(segmentation, dict):
        raise AnnotationFormatError(f"{where}: expected an RLE {{size, counts}} or null")
    if segmentation.get("size") != [frame.height, frame.width]:
        raise AnnotationFormatError(
            f"{where}: size {segmentation.get('size')!r}, the frame is [{frame.height}, {frame.width}]"
        )
    try:
        return rle_codec.encode(rle_codec.decode(segmentation))
    except ValueError as exc:
        raise AnnotationFormatError(f"{where}: {exc}") from None
