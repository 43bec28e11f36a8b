"""YOLO detect / segment / OBB: export in the Ultralytics layout (images/, labels/, data.yaml); import from it,
Roboflow's, X-AnyLabeling's (label files and classes.txt) and Darknet's (obj.names, as CVAT's YOLO 1.1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from ..annotations import rle as rle_codec
from ..annotations.geometry import box_to_mask, mask_to_rotated_box, polygons_to_mask, rotated_box_to_mask
from ..atomic import atomic_write_text
from ..checks import read_text_file
from ..errors import AnnotationFormatError
from .dataset import Dataset, FrameInfo, Instance, Tracing, read_lines
from .frame_numbers import match_frames

TASKS = ("detect", "segment", "obb")

# class-name files of the layouts without data.yaml: X-AnyLabeling's (and labelImg's), Darknet's (CVAT's YOLO 1.1)
NAMES_FILES = ("classes.txt", "obj.names")
IMAGE_LISTS = ("train.txt", "valid.txt", "val.txt", "test.txt")  # Darknet's lists of image paths, not labels


def _yaml_name(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def export_yolo(
    dataset: Dataset,
    out: Path,
    task: str = "detect",
    val: float = 0.2,
    tolerance: float = 1.0,
    write_images: bool = True,
    empty_frames: bool = False,
) -> Path:
    """Write images/{train,val}/, labels/{train,val}/, data.yaml and classes.txt; returns the data.yaml path.

    data.yaml has no `path:`, so Ultralytics reads the folders beside it wherever the dataset is copied.
    `val` (0 to 0.9) is the share of frames held out as one contiguous block at the end: neighbouring
    frames of a video look alike, so a random split would leak. With val 0, val is the train split.
    """
    if task not in TASKS:
        raise ValueError(f"YOLO task must be one of {', '.join(TASKS)}, got {task!r}")
    if not 0.0 <= val <= 0.9:
        raise ValueError(f"the validation share must be from 0 to 0.9, got {val}")
    held_out = validation_frames(dataset, val)
    for frame in dataset.each_frame(Tracing(tolerance, pixel_edges=True, joined=True) if task == "segment" else None):
        if not empty_frames and not dataset.on(frame.index):
            continue  # only annotated frames, unless frames without objects are wanted as negatives
        split = "val" if frame.index in held_out else "train"
        lines = [
            line
            for instance in dataset.on(frame.index)
            if (line := _label_line(dataset, frame, instance, task, tolerance))
        ]
        stem = dataset.stem(frame)
        atomic_write_text(out / "labels" / split / f"{stem}.txt", "".join(f"{line}\n" for line in lines))
        if write_images:
            dataset.write_image(frame, out / "images" / split / dataset.image_name(frame, IMAGE_SUFFIXES))
    names = "\n".join(f"  {i}: {_yaml_name(name)}" for i, name in enumerate(dataset.classes))
    val_folder = "images/val" if held_out else "images/train"
    yaml_text = f"train: images/train\nval: {val_folder}\nnames:\n{names}\n"
    atomic_write_text(out / "data.yaml", yaml_text)
    # the same names a line each, for tools that take a classes file (X-AnyLabeling's and labelImg's uploads)
    atomic_write_text(out / NAMES_FILES[0], "".join(f"{name}\n" for name in dataset.classes))
    return out / "data.yaml"


def validation_frames(dataset: Dataset, share: float) -> set[int]:
    """The last `share` of the annotated frames, as one block (at least one frame, never all of them)."""
    annotated = [f.index for f in dataset.frames if dataset.on(f.index)]
    if share <= 0 or len(annotated) < 2:
        return set()
    count = min(len(annotated) - 1, max(1, round(share * len(annotated))))
    first = annotated[-count]
    return {f.index for f in dataset.frames if f.index >= first}


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")  # what Ultralytics reads (of the frames' own formats)


def _label_line(dataset: Dataset, frame: FrameInfo, instance: Instance, task: str, tolerance: float) -> str | None:
    width, height = frame.width, frame.height
    scale = np.array([width, height], dtype=np.float64)
    class_id = dataset.class_index(instance.label)
    if task == "detect":
        box = instance.box
        if box is None:
            return None
        x1, y1, x2, y2 = box
        values = [(x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height]
    elif task == "segment":
        ring = instance.ring(tolerance, pixel_edges=True)
        if ring is None:
            return None
        values = np.clip(ring / scale, 0, 1).flatten().tolist()
    else:
        rotated = mask_to_rotated_box(instance.mask)
        if rotated is None:
            return None
        values = np.clip(np.asarray(rotated[0]) / scale, 0, 1).flatten().tolist()
    return " ".join([str(class_id)] + [f"{v:.6f}" for v in values])


def read_class_names(data_yaml: Path) -> list[str]:
    import yaml

    text = read_text_file(data_yaml, "YOLO data.yaml")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AnnotationFormatError(f"{data_yaml}: invalid YAML ({exc.__class__.__name__})") from None
    except RecursionError:
        raise AnnotationFormatError(f"{data_yaml}: YAML nested too deeply") from None
    names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, dict) and all(isinstance(k, int) for k in names):
        return [str(names[k]) for k in sorted(names)]
    if isinstance(names, list):
        return [str(n) for n in names]
    raise AnnotationFormatError(f"{data_yaml}: names: expected a list or a {{id: name}} mapping")


def import_yolo(root: Path, frames: list[FrameInfo] | None = None, task: str | None = None) -> Dataset:
    """Read a YOLO dataset: data.yaml and the label files in any `labels` folder below it (labels/**.txt as
    we write it, or <split>/labels/*.txt as Roboflow does); or, without data.yaml, the class names in
    classes.txt (X-AnyLabeling) or obj.names (Darknet, CVAT's YOLO 1.1) and the label files beside or below
    it. Each label line becomes its own object."""
    root, classes, label_files = _layout(Path(root))
    if not label_files:
        raise AnnotationFormatError(f"{root}: no label files under labels/ (or <split>/labels/)")
    notes: list[str] = []
    if frames:
        by_stem = {Path(f.file_name).stem: f for f in frames}
        images = [label_files[0].parent, _image_folder(root, label_files[0])]
        stems = [f.stem for f in label_files]
        matched, notes = match_frames(stems, [by_stem.get(stem) for stem in stems], frames, images, root)
    else:
        matched = [_frame_from_image(root, label_file, position) for position, label_file in enumerate(label_files)]
    instances: dict[int, list[Instance]] = {}
    found_frames: list[FrameInfo] = []
    next_id = 0
    for label_file, frame in zip(label_files, matched):
        if frame is None:
            raise AnnotationFormatError(f"{label_file}: no frame named {label_file.stem}.* in this video or folder")
        found_frames.append(frame)
        for number, line in enumerate(read_text_file(label_file, "YOLO label file").splitlines(), start=1):
            if not line.strip():
                continue
            label, mask = _parse_line(line, classes, frame, f"{label_file}: line {number}", task)
            instances.setdefault(frame.index, []).append(Instance(next_id, label, rle_codec.encode(mask)))
            next_id += 1
    return Dataset(root.name, frames or found_frames, classes, instances, notes=notes)


def _layout(path: Path) -> tuple[Path, list[str], list[Path]]:
    """(the dataset folder, its class names, its label files) of data.yaml or a folder holding it, or of a
    folder with classes.txt / obj.names (or that file itself)."""
    if path.suffix.lower() in (".yaml", ".yml") and not path.is_dir():
        path = path.parent
    elif path.name in NAMES_FILES and path.is_file():
        path = path.parent
    classes = class_names_in(path)
    if classes is None:
        raise AnnotationFormatError(
            f"{path}: no data.yaml (Ultralytics), classes.txt (X-AnyLabeling) or obj.names (Darknet) naming the classes"
        )
    if (path / "data.yaml").is_file():
        return path, classes, [f for f in sorted(path.rglob("*.txt")) if "labels" in f.relative_to(path).parts[:-1]]
    skipped = {path / name for name in (*NAMES_FILES, *IMAGE_LISTS)}
    return path, classes, [f for f in sorted(path.rglob("*.txt")) if f not in skipped]


def class_names_in(folder: Path) -> list[str] | None:
    """The class names a YOLO folder declares: its data.yaml's, else the lines of its classes.txt or
    obj.names; None where it has none of them."""
    if (folder / "data.yaml").is_file():
        return read_class_names(folder / "data.yaml")
    names_file = next((folder / name for name in NAMES_FILES if (folder / name).is_file()), None)
    return None if names_file is None else [name.strip() for name in read_lines(names_file)]


def _image_folder(root: Path, label_file: Path) -> Path:
    """A label file's image folder: by Ultralytics' rule (its last `labels` folder read as `images`), else
    its own (Darknet's obj_train_data/)."""
    folders = list(label_file.relative_to(root).parts[:-1])
    if "labels" in folders:
        folders[len(folders) - 1 - folders[::-1].index("labels")] = "images"
    return root.joinpath(*folders)


def _frame_from_image(root: Path, label_file: Path, position: int) -> FrameInfo | None:
    """The frame of a label file's image (see _image_folder), from the image's own size."""
    for suffix in (".jpg", ".jpeg", ".png", ".bmp", ".webp"):
        image = _image_folder(root, label_file) / (label_file.stem + suffix)  # a stem may hold dots: frame.001
        if image.is_file():
            try:
                with Image.open(image) as picture:
                    return FrameInfo(position, image.name, picture.height, picture.width)
            except Image.DecompressionBombError:
                raise AnnotationFormatError(f"{image}: image is too large (a decompression bomb?)") from None
            except (OSError, ValueError, SyntaxError):
                raise AnnotationFormatError(f"{image}: cannot read the image") from None
    return None


def _parse_line(line: str, classes: list[str], frame: FrameInfo, where: str, task: str | None):
    parts = line.split()
    try:
        class_id = int(parts[0])
        values = np.array([float(v) for v in parts[1:]], dtype=np.float64)
    except ValueError:
        raise AnnotationFormatError(f"{where}: expected a class id and numbers, got {line.strip()!r}") from None
    if not 0 <= class_id < len(classes):
        raise AnnotationFormatError(
            f"{where}: class id {class_id} is not among the class names (0..{len(classes) - 1})"
        )
    if not np.all(np.isfinite(values)) or np.any(values < -1e-6) or np.any(values > 1 + 1e-6):
        raise AnnotationFormatError(f"{where}: coordinates must be normalised to [0, 1] (inside the image)")
    height, width = frame.height, frame.width
    kind = task or ("detect" if values.size == 4 else "obb" if values.size == 8 else "segment")
    if kind == "detect" and values.size == 4:
        cx, cy, w, h = values
        mask = box_to_mask(
            ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height), height, width
        )
    elif kind == "obb" and values.size == 8:
        mask = rotated_box_to_mask(values.reshape(4, 2) * [width, height], height, width)
    elif kind == "segment" and values.size >= 6 and values.size % 2 == 0:
        mask = polygons_to_mask([values.reshape(-1, 2) * [width, height]], height, width, pixel_edges=True)
    else:
        raise AnnotationFormatError(f"{where}: {values.size} coordinates do not make a YOLO {kind} label")
    return classes[class_id], mask
