"""MOT Challenge gt.txt (boxes) and MOTS txt (RLE masks), frames numbered from 1."""

from __future__ import annotations

from pathlib import Path

from ..annotations import rle as rle_codec
from ..atomic import atomic_write_text
from .dataset import Dataset, without_overlaps


def export_mot(dataset: Dataset, out: Path, write_images: bool = False) -> Path:
    """`out/<name>/gt/gt.txt`: frame, id, x, y, w, h, conf, class, visibility (ids and classes from 1)."""
    sequence = out / dataset.name
    lines = []
    for frame in dataset.each_frame():
        for instance in sorted(dataset.on(frame.index), key=lambda i: i.object_id):
            box = instance.box
            if box is None:
                continue
            x1, y1, x2, y2 = box
            lines.append(
                f"{frame.index + 1},{instance.object_id + 1},{x1:g},{y1:g},{x2 - x1:g},{y2 - y1:g},1,"
                f"{dataset.class_index(instance.label) + 1},1.0\n"
            )
        if write_images:
            dataset.write_image(frame, sequence / "img1" / f"{frame.index + 1:06d}.jpg")
    atomic_write_text(sequence / "gt" / "gt.txt", "".join(lines))
    first = dataset.frames[0] if dataset.frames else None
    atomic_write_text(
        sequence / "seqinfo.ini",
        (
            f"[Sequence]\nname={dataset.name}\nimDir=img1\nframeRate={dataset.fps:g}\nseqLength={len(dataset.frames)}\n"
            f"imWidth={first.width if first else 0}\nimHeight={first.height if first else 0}\nimExt=.jpg\n"
        ),
    )
    atomic_write_text(sequence / "gt" / "labels.txt", "".join(f"{name}\n" for name in dataset.classes))
    return sequence / "gt" / "gt.txt"


def export_mots(dataset: Dataset, out: Path) -> Path:
    """`out/<name>.txt`: frame id class_id height width rle, id = class_id * 1000 + instance, no overlaps."""
    lines = []
    for frame in dataset.each_frame():
        instances = sorted(dataset.on(frame.index), key=lambda i: i.object_id)
        for instance, mask in zip(instances, without_overlaps(instances)):
            if not mask.any():
                continue
            class_id = dataset.class_index(instance.label) + 1
            encoded = rle_codec.encode(mask)
            lines.append(
                f"{frame.index + 1} {class_id * 1000 + instance.object_id + 1} {class_id} "
                f"{frame.height} {frame.width} {encoded['counts']}\n"
            )
    path = out / f"{dataset.name}.txt"
    atomic_write_text(path, "".join(lines))
    atomic_write_text(out / f"{dataset.name}.labels.txt", "".join(f"{name}\n" for name in dataset.classes))
    return path
