"""YouTube-VIS JSON: one video, one annotation per object with a per-frame list of RLE masks (or null)."""

from __future__ import annotations

import json
from pathlib import Path

from ..atomic import atomic_write_text
from .dataset import Dataset


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
