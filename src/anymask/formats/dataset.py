"""The view exporters read and importers produce: frames, classes, and per-frame object instances."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePath

import numpy as np
from PIL import Image

from ..annotations import rle as rle_codec
from ..annotations.geometry import mask_to_box, mask_to_rotated_box
from ..annotations.polygon_cache import CACHE_FILE, Tracing, trace, trace_mask, traced_frames
from ..annotations.shapes import Shape
from ..atomic import atomic_open
from ..checks import read_text_file
from ..errors import AnnotationFormatError, MediaError
from ..vocabulary import OUTPUT_MODES

__all__ = [
    "OUTPUT_MODES",
    "Dataset",
    "FrameInfo",
    "Instance",
    "dataset_from_store",
    "frame_infos",
]


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def safe_file_name(name, fallback: str) -> str:
    """A base name from a foreign file that stays inside its folder: no folders, no "..", no control
    characters, no leading dots (`../../x/evil.jpg` -> `evil.jpg`, `C:\\x\\a.png` -> `a.png`)."""
    base = re.split(r"[\\/]", str(name))[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "_", base).strip().lstrip(".").strip()
    return base or fallback


MAX_FRAME_PIXELS = 178_956_970  # Pillow's decompression-bomb limit: a larger declared size is refused


def read_xml(path: Path) -> ET.Element:
    """The root element of an XML file, or AnnotationFormatError naming the file."""
    try:
        return ET.parse(path).getroot()
    except FileNotFoundError:
        raise AnnotationFormatError(f"{path}: XML file not found") from None
    except ET.ParseError as exc:
        raise AnnotationFormatError(f"{path}: invalid XML ({exc})") from None
    except OSError as exc:
        raise AnnotationFormatError(f"{path}: cannot read ({exc.__class__.__name__})") from None


def read_lines(path: Path) -> list[str]:
    """The non-blank lines of a text file ([] where there is none), or AnnotationFormatError naming it."""
    if not path.is_file():
        return []
    return [line for line in read_text_file(path, "text file").splitlines() if line.strip()]


def check_frame_size(height, width, where: str) -> tuple[int, int]:
    """A declared image size that is positive and small enough to allocate, or AnnotationFormatError."""
    if isinstance(height, bool) or isinstance(width, bool) or not isinstance(height, int) or not isinstance(width, int):
        raise AnnotationFormatError(f"{where}: image size must be integers, got {height!r}x{width!r}")
    if height <= 0 or width <= 0:
        raise AnnotationFormatError(f"{where}: image size must be positive, got {width}x{height}")
    if height * width > MAX_FRAME_PIXELS:
        raise AnnotationFormatError(
            f"{where}: declared image size {width}x{height} is larger than {MAX_FRAME_PIXELS} pixels"
        )
    return height, width


@dataclass
class FrameInfo:
    index: int
    file_name: str
    height: int
    width: int


@dataclass
class Instance:
    """One object on one frame: its track id, class, mask (RLE) and score."""

    object_id: int
    label: str
    rle: dict
    score: float | None = None
    traced: dict = field(default_factory=dict, repr=False, compare=False)  # Tracing -> rings, see each_frame

    @property
    def mask(self) -> np.ndarray:
        """Decoded on each use and not kept: an export of a whole project holds one frame's masks at a time."""
        return rle_codec.decode(self.rle)

    @cached_property
    def box(self) -> tuple[float, float, float, float] | None:
        """(x1, y1, x2, y2) in pixel-edge coordinates, from the RLE runs (no mask decoded)."""
        return rle_codec.to_box(self.rle)

    def rings(self, tolerance: float = 1.0, pixel_edges: bool = False) -> list[np.ndarray]:
        """Each component's ring, holes bridged in (see `mask_to_polygons` for the two conventions: pixel
        indices for X-AnyLabeling, pixel edges for COCO and YOLO)."""
        return self._traced(Tracing(tolerance, pixel_edges))

    def ring(self, tolerance: float = 1.0, pixel_edges: bool = False) -> np.ndarray | None:
        """All components and holes joined into one ring (for formats with one polygon per object)."""
        rings = self._traced(Tracing(tolerance, pixel_edges, joined=True))
        return rings[0] if rings else None

    def _traced(self, tracing: Tracing) -> list[np.ndarray]:
        """Ready inside `Dataset.each_frame(tracing)` (traced ahead, or from the project's cache)."""
        ready = self.traced.get(tracing)
        return ready if ready is not None else trace(self.rle, tracing)

    def shapes(self, mode: str = "polygon", tolerance: float = 1.0) -> list[Shape]:
        """The object as X-AnyLabeling shapes in an output mode (a polygon per component)."""
        if mode == "polygon":
            return polygon_shapes(self.rings(tolerance), self.label, self.object_id, self.score)
        return mask_shapes(self.mask, mode, tolerance, self.label, self.object_id, self.score)


def mask_shapes(
    mask: np.ndarray, mode: str, tolerance: float, label: str, object_id: int, score: float | None = None
) -> list[Shape]:
    """A mask as X-AnyLabeling shapes in an output mode: a polygon per component, a box or a rotated box."""
    if mode not in OUTPUT_MODES:
        raise ValueError(f"output mode must be one of {', '.join(OUTPUT_MODES)}, got {mode!r}")
    common = dict(label=label, group_id=object_id, score=score)
    if mode == "rectangle":
        box = mask_to_box(mask)
        return [Shape(points=[[box[0], box[1]], [box[2], box[3]]], shape_type="rectangle", **common)] if box else []
    if mode == "rotation":
        rotated = mask_to_rotated_box(mask)
        return [Shape(points=rotated[0], shape_type="rotation", direction=rotated[1], **common)] if rotated else []
    return polygon_shapes(trace_mask(mask, Tracing(tolerance)), label, object_id, score)


def polygon_shapes(rings: list[np.ndarray], label: str, object_id: int, score: float | None) -> list[Shape]:
    """X-AnyLabeling polygons, one per ring (a component with its holes bridged in)."""
    return [Shape(points=ring, shape_type="polygon", label=label, group_id=object_id, score=score) for ring in rings]


@dataclass
class Dataset:
    """Frames in order, class names in order, and the instances on each frame."""

    name: str
    frames: list[FrameInfo]
    classes: list[str]
    instances: dict[int, list[Instance]] = field(default_factory=dict)
    source: object | None = None  # a FrameSource, to write images
    fps: float = 30.0
    progress: Callable[[int, int], None] | None = None  # (frames written, total), called by exports
    notes: list[str] = field(default_factory=list)  # what an import left out, to tell the person
    track_offset: int | None = None  # see track_id; None: 1 when some object id is 0, else 0
    polygon_cache: Path | None = None  # where traced polygons are kept between exports (a project's cache)

    def track_id(self, object_id: int) -> int:
        """The id an object carries in every exported file: its object id, which starts at 1.

        One rule for every format, since several read 0 as "no track" (MOT, MOTS, DAVIS's background,
        X-AnyLabeling's group_id converters). A project that has an object 0 (made before ids started at
        1, or named so in a prompts file) exports every id + 1, in every format alike."""
        if self.track_offset is None:
            self.track_offset = 1 if any(i.object_id == 0 for items in self.instances.values() for i in items) else 0
        return int(object_id) + self.track_offset

    def each_frame(self, tracing: Tracing | None = None) -> Iterator[FrameInfo]:
        """The frames in order, reporting to `progress` after each (the exporters' main loop). With a
        `tracing`, each instance's polygons are ready when its frame comes (see polygon_cache)."""
        if tracing is not None:
            yield from traced_frames(self, tracing)
            return
        total = len(self.frames)
        for done, frame in enumerate(self.frames, start=1):
            yield frame
            if self.progress is not None:
                self.progress(done, total)

    def __post_init__(self) -> None:
        self.name = safe_file_name(self.name, "dataset")

    def class_index(self, label: str) -> int:
        return self.classes.index(label)

    @cached_property
    def _stems(self) -> dict[int, str]:
        """Each frame's output stem: its file's base name made safe, unique within the dataset."""
        taken: set[str] = set()
        stems = {}
        for frame in self.frames:
            name = safe_file_name(frame.file_name, f"{frame.index:06d}.jpg")
            stem, suffix = Path(name).stem or f"{frame.index:06d}", Path(name).suffix.lower().lstrip(".")
            candidate, count = stem, 1
            if candidate.lower() in taken and suffix:
                candidate = f"{stem}_{suffix}"  # img.jpg and img.png: img and img_png
            while candidate.lower() in taken:
                count += 1
                candidate = f"{stem}-{count}"
            taken.add(candidate.lower())
            stems[frame.index] = candidate
        return stems

    def stem(self, frame: FrameInfo) -> str:
        """The frame's output file stem (label files, XML, JSON): safe and unique per frame."""
        return self._stems[frame.index]

    def image_name(self, frame: FrameInfo, suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> str:
        """The frame's output image name: its stem, with its own suffix if in `suffixes`, else .jpg."""
        suffix = Path(safe_file_name(frame.file_name, "frame.jpg")).suffix
        return self.stem(frame) + (suffix if suffix.lower() in suffixes else ".jpg")

    def on(self, frame: int) -> list[Instance]:
        return self.instances.get(frame, [])

    def tracks(self) -> dict[int, str]:
        """object id -> class for every object that appears."""
        found: dict[int, str] = {}
        for frame in sorted(self.instances):
            for instance in self.instances[frame]:
                found.setdefault(instance.object_id, instance.label)
        return dict(sorted(found.items()))

    def write_image(self, frame: FrameInfo, path: Path) -> Path:
        """Write a frame as an image file (copies the original for image folders). Returns the path written."""
        original = getattr(self.source, "files", None)
        if original is not None and Path(original[frame.index]).suffix.lower() == path.suffix.lower():
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_open(path, "wb") as handle, open(original[frame.index], "rb") as src:
                shutil.copyfileobj(src, handle)
            return path
        if self.source is None:
            raise ValueError("this dataset has no frame source to write images from")
        picture = Image.fromarray(np.asarray(self.source.frame(frame.index)))
        with atomic_open(path, "wb") as handle:
            picture.save(handle, format="PNG" if path.suffix.lower() == ".png" else "JPEG", quality=95)
        return path


def without_overlaps(instances: list[Instance]) -> list[np.ndarray]:
    """Masks with each pixel given to one object only (higher score first, then lower id), for MOTS/DAVIS."""
    order = sorted(range(len(instances)), key=lambda i: (-(instances[i].score or 0.0), instances[i].object_id))
    taken = None
    result: list[np.ndarray | None] = [None] * len(instances)
    for i in order:
        mask = instances[i].mask.copy()
        if taken is not None:
            mask &= ~taken
            taken |= mask
        else:
            taken = mask.copy()
        result[i] = mask
    return result  # type: ignore[return-value]


def frame_infos(source) -> list[FrameInfo | None]:
    """Each frame's name and size; None for a frame that cannot be read (a damaged image)."""
    frames: list[FrameInfo | None] = []
    for index in range(len(source)):
        try:
            height, width = source.frame_size(index)
        except MediaError:
            frames.append(None)
            continue
        frames.append(FrameInfo(index, source.frame_name(index), height, width))
    return frames


def video_fps(source) -> float | None:
    """A video source's frame rate; None for a folder of images (its rate is a made-up one)."""
    return getattr(source, "fps", None) if getattr(source, "files", None) is None else None


def united(first: Instance, part: Instance) -> Instance:
    """`first` with `part`'s mask added: one object given in parts, or twice, on one frame."""
    return Instance(first.object_id, first.label, rle_codec.encode(first.mask | part.mask), first.score)


def add_part(items: list[Instance], part: Instance) -> None:
    """Put an object's mask on a frame's list, united with the mask that object already has there (CVAT
    shapes of one track, Label Studio regions of one object)."""
    for index, item in enumerate(items):
        if item.object_id == part.object_id:
            items[index] = united(item, part)
            return
    items.append(part)


def frames_by_name(frames: list[FrameInfo]) -> dict[str, FrameInfo]:
    """Frames under their file name, base name and stem (first come wins), for files that name frames
    with a folder in front or another image suffix."""
    found: dict[str, FrameInfo] = {}
    for frame in frames:
        for key in (frame.file_name, PurePath(frame.file_name).name, PurePath(frame.file_name).stem):
            found.setdefault(key, frame)
    return found


def dataset_from_store(store, source, name: str | None = None) -> Dataset:
    """Everything in a project store as a Dataset over the frames of `source`."""
    objects = store.objects()
    classes = [label.name for label in store.labels() if label.name in set(objects.values())]
    frames = frame_infos(source)  # an unreadable frame is left out of the dataset
    instances = {}
    for frame in store.annotated_frames():
        if frame < len(frames) and frames[frame] is None:
            continue
        if frame >= len(frames):
            raise MediaError(
                f"{source.path}: the project has masks on frame {frame} but this video has {len(frames)} frames; "
                "is it the project's video?"
            )
        masks = store.masks(frame)
        size = [frames[frame].height, frames[frame].width]
        wrong = next((m for m in masks if list(m.rle.get("size", size)) != size), None)
        if wrong is not None:
            height, width = wrong.rle["size"]
            raise MediaError(
                f"{source.path}: frame {frame} is {size[1]}x{size[0]} but the project's masks there are "
                f"{width}x{height}; is it the project's video?"
            )
        instances[frame] = [Instance(m.object_id, objects[m.object_id], m.rle, m.score) for m in masks]
    return Dataset(
        name or Path(str(source.path)).stem,
        [frame for frame in frames if frame is not None],
        classes,
        instances,
        source,
        getattr(source, "fps", 30.0),
        track_offset=1 if 0 in objects else 0,
        polygon_cache=Path(store.folder) / "cache" / CACHE_FILE,
    )
