"""anymask.formats: dataset exporters and importers, one file per format, over the `Dataset` view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import AnnotationFormatError, MediaError
from .coco import export_coco, import_coco
from .cvat import export_cvat_video, import_cvat
from .dataset import OUTPUT_MODES, Dataset, FrameInfo, Instance, dataset_from_store, frame_infos, united, video_fps
from .davis import export_davis, import_davis
from .detect import format_hint, guess_format
from .label_studio import export_label_studio
from .label_studio_import import import_label_studio
from .mot import export_mot, export_mots, import_mot, import_mots
from .staging import staged
from .voc import export_voc, import_voc
from .xanylabeling import export_xanylabeling, import_label_folder
from .yolo import export_yolo, import_yolo
from .youtube_vis import export_youtube_vis, import_youtube_vis


@dataclass(frozen=True)
class ExportOptions:
    """How an export writes: output mode, polygon tolerance (px), YOLO's validation share, and whether the
    per-image formats also write frames without objects."""

    mode: str = "polygon"
    tolerance: float = 1.0
    val: float = 0.2
    empty_frames: bool = False  # YOLO, VOC, X-AnyLabeling, Label Studio: also write frames without objects


EXPORT_FORMATS: dict[str, Callable[[Dataset, Path, ExportOptions], Path]] = {
    "coco": lambda d, out, o: export_coco(d, out, "polygon" if o.mode == "polygon" else "rle", o.tolerance),
    "yolo-det": lambda d, out, o: export_yolo(d, out, "detect", o.val, o.tolerance, empty_frames=o.empty_frames),
    "yolo-seg": lambda d, out, o: export_yolo(d, out, "segment", o.val, o.tolerance, empty_frames=o.empty_frames),
    "yolo-obb": lambda d, out, o: export_yolo(d, out, "obb", o.val, o.tolerance, empty_frames=o.empty_frames),
    "voc": lambda d, out, o: export_voc(d, out, empty_frames=o.empty_frames),
    "mot": lambda d, out, o: export_mot(d, out),
    "mots": lambda d, out, o: export_mots(d, out),
    "davis": lambda d, out, o: export_davis(d, out),
    "youtube-vis": lambda d, out, o: export_youtube_vis(d, out),
    "cvat": lambda d, out, o: export_cvat_video(d, out, o.mode, o.tolerance),
    "xanylabeling": lambda d, out, o: export_xanylabeling(d, out, o.mode, o.tolerance, empty_frames=o.empty_frames),
    "label-studio": lambda d, out, o: export_label_studio(d, out, o.mode, o.tolerance, empty_frames=o.empty_frames),
}

IMPORT_FORMATS = {
    "xanylabeling": import_label_folder,
    "labelme": import_label_folder,
    "coco": import_coco,
    "yolo": import_yolo,
    "davis": import_davis,
    "mot": import_mot,
    "mots": import_mots,
    "voc": import_voc,
    "youtube-vis": import_youtube_vis,
    "cvat": import_cvat,
    "label-studio": import_label_studio,
}
FRAME_RATE_IMPORTS = {"label-studio"}  # video frames counted at a rate of the file's own (Label Studio's frameRate)


def export_dataset(
    dataset: Dataset,
    format_name: str,
    out: str | Path,
    mode: str = "polygon",
    tolerance: float = 1.0,
    progress: Callable[[int, int], None] | None = None,
    val: float = 0.2,
    empty_frames: bool = False,
) -> Path:
    """Export in one of EXPORT_FORMATS; `mode` is the output shape (polygon, rectangle, rotation, mask);
    `val` the share of frames YOLO holds out for validation (see export_yolo); `empty_frames`: YOLO, VOC
    and X-AnyLabeling also write the frames without objects (as negatives), not only the annotated ones.

    Written into a stage folder beside `out` and moved in at the end (see staging.staged): a failed or
    killed export leaves no partial files. Every file name comes from `Dataset.stem`/`image_name`, safe
    base names unique per frame, so names taken from a foreign file never lead out of `out`.
    """
    if format_name not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {format_name!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    if mode not in OUTPUT_MODES:
        raise ValueError(f"unknown output mode {mode!r}; choose one of {', '.join(OUTPUT_MODES)}")
    out = Path(out).absolute()
    if progress is not None:
        dataset.progress = progress  # (frames written, total)
    with staged(out) as target:
        written = EXPORT_FORMATS[format_name](dataset, target, ExportOptions(mode, tolerance, val, empty_frames))
    return out / written.relative_to(target) if written != target else out


def import_annotations(
    format_name: str, path: str | Path, frames: list[FrameInfo] | None = None, fps: float | None = None
) -> Dataset:
    """Parse annotations completely (raising AnnotationFormatError on any problem) before anything is stored.
    `fps`: the video's frame rate, for files that count a video's frames at a rate of their own."""
    if format_name not in IMPORT_FORMATS:
        raise ValueError(f"unknown import format {format_name!r}; choose one of {', '.join(IMPORT_FORMATS)}")
    try:
        importer = IMPORT_FORMATS[format_name]
        if format_name in FRAME_RATE_IMPORTS:
            dataset = importer(Path(path), frames, fps=fps)
        else:
            dataset = importer(Path(path), frames)
    except AnnotationFormatError as exc:
        hint = "" if "import it as" in str(exc) else format_hint(Path(path), format_name)
        if not hint:
            raise
        raise AnnotationFormatError(f"{exc}{hint}") from None
    merge_repeated_objects(dataset)
    return dataset


def merge_repeated_objects(dataset: Dataset) -> None:
    """One mask per object and frame: masks a file gives one object twice on a frame (two rows of a MOT
    track, COCO annotations or VOC boxes sharing a track id) become their union, noted, so that storing
    one does not overwrite the other."""
    merged = 0
    for frame, items in dataset.instances.items():
        kept: dict[int, Instance] = {}
        for item in items:
            first = kept.get(item.object_id)
            if first is not None:
                item, merged = united(first, item), merged + 1
            kept[item.object_id] = item
        dataset.instances[frame] = list(kept.values())
    if merged:
        dataset.notes.append(f"merged {merged} mask(s) into the same object's other mask on that frame")


@dataclass(frozen=True)
class ImportReport:
    """What an import added to a project, and what the file held that it left out."""

    objects: int
    masks: int
    frames: int
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.masks} masks of {self.objects} objects on {self.frames} frames"
        return "; ".join([text, *self.notes])


def import_into(store, source, format_name: str, path: str | Path) -> ImportReport:
    """Import annotations over `source`'s frames into a project: parsed whole first, then stored in one
    transaction as new objects (nothing already there is replaced)."""
    frames = frame_infos(source)
    readable = next((f for f in frames if f is not None), None)
    if readable is None:
        raise MediaError(f"{source.path}: no frame can be read")
    frames = [f or FrameInfo(i, source.frame_name(i), readable.height, readable.width) for i, f in enumerate(frames)]
    dataset = import_annotations(format_name, path, frames, video_fps(source))
    id_map = store_dataset(store, dataset)
    masks = sum(len(items) for items in dataset.instances.values())
    return ImportReport(len(id_map), masks, len(dataset.instances), tuple(dataset.notes))


def store_dataset(store, dataset: Dataset, source: str = "imported") -> dict[int, int]:
    """Add an imported dataset to a project in one transaction; returns imported id -> project object id.
    Classes are added in the dataset's order (the source file's)."""
    id_map: dict[int, int] = {}
    existing = store.objects()
    with store.transaction():
        for label in dataset.classes:
            store.ensure_label(label)
        for object_id, label in dataset.tracks().items():
            wanted = object_id if object_id not in existing and object_id not in id_map.values() else None
            id_map[object_id] = store.add_object(label, wanted)
        for frame, instances in sorted(dataset.instances.items()):
            store.put_masks(frame, [(id_map[i.object_id], i.rle, i.score, source, None) for i in instances])
    return id_map


__all__ = [
    "Dataset",
    "FrameInfo",
    "Instance",
    "dataset_from_store",
    "export_dataset",
    "import_into",
    "ImportReport",
    "import_annotations",
    "guess_format",
    "store_dataset",
    "EXPORT_FORMATS",
    "ExportOptions",
    "IMPORT_FORMATS",
    "OUTPUT_MODES",
]
