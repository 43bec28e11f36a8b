"""DAVIS-style masks: Annotations/<seq>/00000.png indexed palette PNGs (object k = colour k), JPEGImages/<seq>/."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..annotations import rle as rle_codec
from ..atomic import atomic_write_bytes, atomic_write_text
from ..errors import AnnotationFormatError
from .dataset import Dataset, FrameInfo, Instance, without_overlaps

OBJECTS_FILE = "anymask_objects.json"


def davis_palette() -> list[int]:
    """The PASCAL VOC / DAVIS colour map (index 0 black, 1 red, 2 green, ...)."""
    palette = []
    for index in range(256):
        r = g = b = 0
        value = index
        for bit in range(8):
            r |= ((value >> 0) & 1) << (7 - bit)
            g |= ((value >> 1) & 1) << (7 - bit)
            b |= ((value >> 2) & 1) << (7 - bit)
            value >>= 3
        palette.extend((r, g, b))
    return palette


def export_davis(dataset: Dataset, out: Path, write_images: bool = True) -> Path:
    tracks = dataset.tracks()
    if len(tracks) > 255:
        raise ValueError("DAVIS PNGs hold at most 255 objects")
    index_of = {object_id: k + 1 for k, object_id in enumerate(tracks)}
    masks_dir = out / "Annotations" / dataset.name
    palette = davis_palette()
    for frame in dataset.each_frame():
        canvas = np.zeros((frame.height, frame.width), dtype=np.uint8)
        instances = dataset.on(frame.index)
        for instance, mask in zip(instances, without_overlaps(instances)):
            canvas[mask] = index_of[instance.object_id]
        picture = Image.fromarray(canvas, mode="P")
        picture.putpalette(palette)
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        atomic_write_bytes(masks_dir / f"{frame.index:05d}.png", buffer.getvalue())
        if write_images:
            dataset.write_image(frame, out / "JPEGImages" / dataset.name / f"{frame.index:05d}.jpg")
    objects = {str(k): {"object_id": o, "label": tracks[o]} for o, k in index_of.items()}
    atomic_write_text(masks_dir / OBJECTS_FILE, json.dumps(objects, indent=2))
    return masks_dir


def import_davis(masks_dir: Path, frames: list[FrameInfo] | None = None) -> Dataset:
    """Read indexed PNG masks (one per frame, in name order); colour k becomes object k-1 (or the sidecar's)."""
    masks_dir = Path(masks_dir)
    files = sorted(masks_dir.glob("*.png"))
    if not files:
        raise AnnotationFormatError(f"{masks_dir}: no PNG masks found")
    if frames is not None and len(files) > len(frames):
        raise AnnotationFormatError(f"{masks_dir}: {len(files)} masks but the video has only {len(frames)} frames")
    names = _object_names(masks_dir)
    instances: dict[int, list[Instance]] = {}
    found = []
    for position, path in enumerate(files):
        try:
            with Image.open(path) as picture:
                if picture.mode not in ("P", "L"):
                    raise AnnotationFormatError(f"{path}: expected an indexed (palette) PNG, got mode {picture.mode}")
                canvas = np.asarray(picture)
        except Image.DecompressionBombError:
            raise AnnotationFormatError(f"{path}: image is too large (a decompression bomb?)") from None
        except (UnidentifiedImageError, OSError):
            raise AnnotationFormatError(f"{path}: not a readable PNG") from None
        frame = frames[position] if frames is not None else FrameInfo(position, path.stem + ".jpg", *canvas.shape)
        if canvas.shape != (frame.height, frame.width):
            raise AnnotationFormatError(
                f"{path}: mask is {canvas.shape[1]}x{canvas.shape[0]}, frame is {frame.width}x{frame.height}"
            )
        found.append(frame)
        for value in np.unique(canvas):
            if value == 0 or value == 255:  # background, DAVIS "void"
                continue
            object_id, label = names.get(int(value), (int(value) - 1, f"object{int(value) - 1}"))
            instances.setdefault(frame.index, []).append(Instance(object_id, label, rle_codec.encode(canvas == value)))
    labels = sorted({i.label for items in instances.values() for i in items})
    return Dataset(masks_dir.name, frames if frames is not None else found, labels, instances)


def _object_names(masks_dir: Path) -> dict[int, tuple[int, str]]:
    sidecar = masks_dir / OBJECTS_FILE
    if not sidecar.is_file():
        return {}
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
        return {int(k): (int(v["object_id"]), str(v["label"])) for k, v in data.items()}
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        raise AnnotationFormatError(f"{sidecar}: expected {{index: {{object_id, label}}}}") from None
