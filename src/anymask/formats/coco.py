"""COCO instances JSON in Datumaro's and CVAT's layout: annotations/instances_default.json, images/default/."""

from __future__ import annotations

import json
from pathlib import Path, PurePath

import numpy as np

from ..annotations import rle as rle_codec
from ..annotations.geometry import polygons_to_mask
from ..atomic import atomic_open
from ..checks import as_key, is_finite_number, is_int_in, read_json_file
from ..errors import AnnotationFormatError
from .dataset import Dataset, FrameInfo, Instance, Tracing, check_frame_size, frames_by_name
from .frame_numbers import match_frames

SUBSET = "default"  # Datumaro/CVAT name the one subset of a task "default"


def export_coco(
    dataset: Dataset, out: Path, segmentation: str = "rle", tolerance: float = 1.0, write_images: bool = True
) -> Path:
    """Write `out/annotations/instances_default.json` and the frames under `out/images/default/` (or only
    the JSON, to `out` itself, when `out` ends in .json)."""
    if segmentation not in ("rle", "polygon"):
        raise ValueError("segmentation must be 'rle' or 'polygon'")
    single_file = out.suffix == ".json"
    path = out if single_file else out / "annotations" / f"instances_{SUBSET}.json"
    images = [
        {
            "id": frame.index + 1,
            "file_name": dataset.image_name(frame),
            "height": frame.height,
            "width": frame.width,
            "video_id": 1,
            "frame_id": frame.index,
            "video": dataset.name,
        }
        for frame in dataset.frames
    ]
    head = {
        "info": {"description": f"{dataset.name}, exported by anymask"},
        "licenses": [],
        "videos": [{"id": 1, "name": dataset.name}],
        "categories": [{"id": i + 1, "name": name, "supercategory": ""} for i, name in enumerate(dataset.classes)],
        "images": images,
    }
    with atomic_open(path) as handle:  # annotations are streamed: a large project is never held whole
        handle.write(json.dumps(head)[:-1] + ', "annotations": [')
        count = 0
        tracing = Tracing(tolerance, pixel_edges=True) if segmentation == "polygon" else None
        for frame in dataset.each_frame(tracing):
            for instance in dataset.on(frame.index):
                annotation = _annotation(dataset, frame, instance, segmentation, tolerance, count + 1)
                if annotation is not None:
                    handle.write((", " if count else "") + json.dumps(annotation))
                    count += 1
            if write_images and not single_file and dataset.source is not None:
                dataset.write_image(frame, out / "images" / SUBSET / dataset.image_name(frame))
        handle.write("]}")
    return path


def _annotation(dataset: Dataset, frame: FrameInfo, instance: Instance, segmentation: str, tolerance: float, number):
    box = instance.box
    if box is None:
        return None
    if segmentation == "rle":
        segm = instance.rle
    else:
        segm = [ring.flatten().round(3).tolist() for ring in instance.rings(tolerance, pixel_edges=True)]
    return {
        "id": number,
        "image_id": frame.index + 1,
        "category_id": dataset.class_index(instance.label) + 1,
        "segmentation": segm,
        "area": rle_codec.area(instance.rle),
        "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
        "iscrowd": 0,
        "attributes": {"track_id": dataset.track_id(instance.object_id)},  # where Datumaro and CVAT keep it
        "track_id": dataset.track_id(instance.object_id),
        **({"score": instance.score} if instance.score is not None else {}),
    }


# categories labelme's and X-AnyLabeling's COCO exports add for no object: left out of the classes when unused
PLACEHOLDERS = ("_background_", "__ignore__")


def _fail(path: Path, where: str, problem: str) -> AnnotationFormatError:
    return AnnotationFormatError(f"{path}: {where}: {problem}")


def category_names(path: Path, categories: list) -> dict[int, str]:
    """id -> name of a COCO-style `categories` list (COCO's, YouTube-VIS's), in the list's order."""
    names = {}
    for i, category in enumerate(categories):
        if (
            not isinstance(category, dict)
            or not isinstance(category.get("id"), int)
            or not isinstance(category.get("name"), str)
        ):
            raise _fail(path, f"categories[{i}]", 'expected {"id": int, "name": str}')
        names[category["id"]] = category["name"]
    return names


def import_coco(path: Path, frames: list[FrameInfo] | None = None) -> Dataset:
    """Read a COCO instances file, or the one under a folder's annotations/ (Datumaro's and our layout).
    Frames are matched by file name when `frames` is given."""
    path = coco_file(Path(path))
    document = read_json_file(path, "COCO JSON file")
    if not isinstance(document, dict):
        raise _fail(path, "top level", "expected a JSON object")
    for key in ("images", "annotations", "categories"):
        if not isinstance(document.get(key), list):
            raise _fail(path, key, "expected a list")
    categories = category_names(path, document["categories"])
    declared = []
    for i, image in enumerate(document["images"]):
        fields = [image.get(key) for key in ("id", "file_name", "height", "width")] if isinstance(image, dict) else []
        if len(fields) != 4 or not is_int_in(fields[0], -(2**63), 2**63 - 1) or not isinstance(fields[1], str):
            raise _fail(path, f"images[{i}]", "needs an integer id, a file_name, height and width")
        check_frame_size(fields[2], fields[3], f"{path}: images[{i}]")
        declared.append(fields)
    images, notes = _image_frames(path, declared, frames)
    instances: dict[int, list[Instance]] = {}
    for i, annotation in enumerate(document["annotations"]):
        where = f"annotations[{i}]"
        if not isinstance(annotation, dict):
            raise _fail(path, where, "expected an object")
        frame = images.get(as_key(annotation.get("image_id")))
        if frame is None:
            raise _fail(path, f"{where}.image_id", f"unknown image id {annotation.get('image_id')!r}")
        label = categories.get(as_key(annotation.get("category_id")))
        if label is None:
            raise _fail(path, f"{where}.category_id", f"unknown category id {annotation.get('category_id')!r}")
        mask = _annotation_mask(annotation, frame, path, where)
        object_id = _track_of(annotation, i)
        if not is_int_in(object_id, 0, 2**63 - 1):
            raise _fail(path, f"{where}.track_id", f"expected an integer from 0 to 2^63-1, got {object_id!r}")
        score = annotation.get("score")
        instances.setdefault(frame.index, []).append(
            Instance(object_id, label, rle_codec.encode(mask), float(score) if is_finite_number(score) else None)
        )
    ordered = sorted(images.values(), key=lambda f: f.index)
    used = {instance.label for items in instances.values() for instance in items}
    classes = [categories[k] for k in sorted(categories) if categories[k] in used or categories[k] not in PLACEHOLDERS]
    return Dataset(Path(path).stem, frames or ordered, classes, instances, notes=notes)


def _image_frames(path: Path, declared: list, frames: list[FrameInfo] | None) -> tuple[dict[int, FrameInfo], list]:
    """image id -> frame: the media's frame each file_name names (or, where none is one of its names, the
    frame its number says: see frame_numbers), else frames made from the images' own sizes."""
    if not frames:
        return {image_id: FrameInfo(i, name, h, w) for i, (image_id, name, h, w) in enumerate(declared)}, []
    by_name = frames_by_name(frames)  # each frame under its name, base name and stem

    def lookup(name: str) -> FrameInfo | None:
        return by_name.get(name) or by_name.get(PurePath(name).name) or by_name.get(PurePath(name).stem)

    names = [name for _, name, _, _ in declared]
    matched, notes = match_frames(names, [lookup(name) for name in names], frames, _image_folders(path), path)
    images = {}
    for i, ((image_id, name, height, width), frame) in enumerate(zip(declared, matched)):
        if frame is None:
            raise _fail(path, f"images[{i}].file_name", f"{name!r} is not a frame of this video or folder")
        if notes and (height, width) != (frame.height, frame.width):
            raise _fail(
                path,
                f"images[{i}]",
                f"{name} is {width}x{height} but frame {frame.index} is {frame.width}x"
                f"{frame.height}; is it this video's?",
            )
        images[image_id] = frame
    return images, notes


def _image_folders(path: Path) -> list[Path]:
    """Where a COCO file's images may lie: CVAT's and Datumaro's images/default/, images/, or beside it."""
    root = path.parent.parent if path.parent.name == "annotations" else path.parent
    return [root / "images" / "default", root / "images", path.parent]


def coco_file(path: Path) -> Path:
    """`path` itself, or the single instances JSON of a COCO folder (annotations/instances_*.json)."""
    if not path.is_dir():
        return path
    found = sorted((path / "annotations").glob("instances_*.json")) or sorted(path.glob("*.json"))
    if len(found) != 1:
        if not found:
            raise AnnotationFormatError(f"{path}: no COCO JSON under annotations/ or in the folder")
        where = "under annotations/" if found[0].parent != path else "in the folder"
        raise AnnotationFormatError(f"{path}: {len(found)} JSON files {where} ({found[0].name}, ...); name one")
    return found[0]


def _track_of(annotation: dict, position: int):
    """The track id: Datumaro's/CVAT's `attributes.track_id`, a top-level `track_id` or `instance_id`,
    else the annotation's own id (every annotation its own object)."""
    attributes = annotation.get("attributes")
    if isinstance(attributes, dict) and "track_id" in attributes:
        return attributes["track_id"]
    return annotation.get("track_id", annotation.get("instance_id", annotation.get("id", position + 1)))


def _annotation_mask(annotation: dict, frame: FrameInfo, path: Path, where: str) -> np.ndarray:
    segmentation = annotation.get("segmentation")
    height, width = frame.height, frame.width
    try:
        if isinstance(segmentation, dict):
            size = segmentation.get("size")
            if not isinstance(size, list) or [*size] != [height, width]:
                raise _fail(
                    path, f"{where}.segmentation", f"RLE size {size!r} differs from the image [{height}, {width}]"
                )
            mask = rle_codec.decode(segmentation)
            if mask.shape != (height, width):
                raise _fail(path, f"{where}.segmentation", "RLE counts do not fill the image")
            return mask
        if isinstance(segmentation, list) and segmentation:
            rings = []
            for ring in segmentation:
                values = np.asarray(ring, dtype=np.float64)
                if values.ndim != 1 or values.size < 6 or values.size % 2:
                    raise _fail(
                        path, f"{where}.segmentation", "polygons must be flat [x1, y1, x2, y2, ...] lists of 3+ points"
                    )
                rings.append(values.reshape(-1, 2))
            _check_inside(np.concatenate(rings), width, height, path, where)
            return polygons_to_mask(rings, height, width, pixel_edges=True)
    except (ValueError, TypeError, OverflowError) as exc:
        if isinstance(exc, AnnotationFormatError):
            raise
        raise _fail(path, f"{where}.segmentation", str(exc)) from None
    bbox = annotation.get("bbox")
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(is_finite_number(v) for v in bbox)):
        raise _fail(path, where, "needs a segmentation or a bbox [x, y, w, h]")
    x, y, w, h = bbox
    _check_inside(np.array([[x, y], [x + w, y + h]], dtype=np.float64), width, height, path, where)
    mask = np.zeros((height, width), dtype=bool)
    mask[int(round(y)) : int(round(y + h)), int(round(x)) : int(round(x + w))] = True
    return mask


def _check_inside(points: np.ndarray, width: int, height: int, path: Path, where: str) -> None:
    if not np.all(np.isfinite(points)):
        raise _fail(path, where, "coordinates must be finite numbers")
    bad = (points[:, 0] < -0.5) | (points[:, 1] < -0.5) | (points[:, 0] > width + 0.5) | (points[:, 1] > height + 0.5)
    if np.any(bad):
        x, y = points[bad][0]
        raise _fail(path, where, f"point ({x:g}, {y:g}) lies outside the {width}x{height} image")
