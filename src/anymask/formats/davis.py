"""DAVIS 2017 layout: Annotations/480p/<seq>/00000.png palette PNGs, JPEGImages/480p/<seq>/, ImageSets/2017."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..annotations import rle as rle_codec
from ..atomic import atomic_write_bytes, atomic_write_text
from ..checks import read_json_file
from ..errors import AnnotationFormatError
from .dataset import Dataset, FrameInfo, Instance, without_overlaps

OBJECTS_FILE = "anymask_objects.json"  # before 0.3 it sat in the masks folder; now in <root>/anymask/<seq>.json
RESOLUTION = "480p"  # the folder davis2017-evaluation reads; frames keep their own size
MAX_OBJECTS = 254  # palette index 255 means "void" in DAVIS


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


def palette_indices(dataset: Dataset) -> dict[int, int]:
    """object id -> palette index: the track id when every one fits below 255, else 1, 2, ... in object order."""
    tracks = dataset.tracks()
    if len(tracks) > MAX_OBJECTS:
        raise ValueError(f"DAVIS PNGs hold at most {MAX_OBJECTS} objects (index 255 is void); this has {len(tracks)}")
    if all(dataset.track_id(o) <= MAX_OBJECTS for o in tracks):
        return {o: dataset.track_id(o) for o in tracks}
    return {o: k + 1 for k, o in enumerate(tracks)}


def export_davis(dataset: Dataset, out: Path, write_images: bool = True) -> Path:
    """Masks, frames, ImageSets/2017/val.txt naming the sequence, and anymask/<seq>.json (index -> object, label).

    davis2017-evaluation counts a sequence's objects on its first frame: an object first seen later
    cannot be scored there (semi-supervised rule); every object is still written."""
    tracks = dataset.tracks()
    index_of = palette_indices(dataset)
    masks_dir = out / "Annotations" / RESOLUTION / dataset.name
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
            dataset.write_image(frame, out / "JPEGImages" / RESOLUTION / dataset.name / f"{frame.index:05d}.jpg")
    atomic_write_text(out / "ImageSets" / "2017" / "val.txt", f"{dataset.name}\n")
    objects = {str(k): {"object_id": o, "label": tracks[o]} for o, k in index_of.items()}
    atomic_write_text(out / "anymask" / f"{dataset.name}.json", json.dumps(objects, indent=2))
    return masks_dir


def davis_masks_folder(path: Path) -> Path:
    """The folder of PNG masks: `path` itself, or the one sequence under a DAVIS root's Annotations/480p."""
    if any(path.glob("*.png")):
        return path
    sequences = [p for p in sorted((path / "Annotations" / RESOLUTION).glob("*")) if p.is_dir()]
    if len(sequences) == 1:
        return sequences[0]
    if sequences:
        raise AnnotationFormatError(
            f"{path}: {len(sequences)} sequences under Annotations/{RESOLUTION}; name the one to import"
        )
    raise AnnotationFormatError(f"{path}: no PNG masks found")


def import_davis(masks_dir: Path, frames: list[FrameInfo] | None = None) -> Dataset:
    """Read indexed PNG masks (one per frame, in name order); colour k becomes object k (or the sidecar's)."""
    masks_dir = davis_masks_folder(Path(masks_dir))
    files = sorted(masks_dir.glob("*.png"))
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
            object_id, label = names.get(int(value), (int(value), f"object{int(value)}"))
            instances.setdefault(frame.index, []).append(Instance(object_id, label, rle_codec.encode(canvas == value)))
    seen = [label for _, label in (names[k] for k in sorted(names))]  # the sidecar's order, then first seen
    seen += [i.label for _, items in sorted(instances.items()) for i in items]
    labels = [label for label in dict.fromkeys(seen) if any(i.label == label for v in instances.values() for i in v)]
    return Dataset(masks_dir.name, frames if frames is not None else found, labels, instances)


def _object_names(masks_dir: Path) -> dict[int, tuple[int, str]]:
    sidecar = masks_dir.parents[2] / "anymask" / f"{masks_dir.name}.json" if len(masks_dir.parents) > 2 else None
    if sidecar is None or not sidecar.is_file():
        sidecar = masks_dir / OBJECTS_FILE
    if not sidecar.is_file():
        return {}
    data = read_json_file(sidecar, "DAVIS objects file")
    try:
        return {int(k): (int(v["object_id"]), str(v["label"])) for k, v in data.items()}
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        raise AnnotationFormatError(f"{sidecar}: expected {{index: {{object_id, label}}}}") from None
