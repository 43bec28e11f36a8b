"""Label Studio JSON import: image tasks' polygons, boxes (rotated too), ellipses and brush masks, and video
tasks' box tracks, as object masks on the frames they name."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import numpy as np

from ..annotations import rle as rle_codec
from ..annotations.geometry import edge_polygon_mask, ellipse_mask, turned_box_mask
from ..checks import is_finite_number, read_json_file
from ..errors import AnnotationFormatError
from .dataset import Dataset, FrameInfo, Instance, add_part, check_frame_size, frames_by_name, safe_file_name
from .frame_numbers import match_frames
from .label_studio import OBJECT_ID_PREFIX, TASKS_FILE, VIDEO_TASKS_FILE
from .label_studio_brush import decode_brush

AREA_TYPES = {
    "polygonlabels": "polygon",
    "polygon": "polygon",
    "rectanglelabels": "rectangle",
    "rectangle": "rectangle",
    "ellipselabels": "ellipse",
    "ellipse": "ellipse",
    "brushlabels": "brush",
    "brush": "brush",
}
RATE_TOLERANCE = 0.01  # rates this close count as one (29.97 and 30); 24 against 25 does not
UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-")  # Label Studio renames an uploaded file <8 hex>-<name>
OWN_REGION_ID = re.compile(rf"^{OBJECT_ID_PREFIX}(\d{{1,9}})(?:-\d+)?$")


def import_label_studio(path: Path, frames: list[FrameInfo] | None = None, fps: float | None = None) -> Dataset:
    """Read a Label Studio JSON export (a list of tasks, or one task), or the tasks.json in a folder.

    Each task's first annotation that was not cancelled is read (its first prediction where it has none).
    An image task lands on the frame its data names; a region is an object of its own unless its id is
    `obj<n>` (anymask's), which keeps object n. A video task's videorectangle tracks are boxes on every
    frame Label Studio shows them; where Label Studio counted frames at another rate than the video's
    `fps` (its default of 24, say), each keyframe goes to the video frame shown at its time. Other region
    kinds (keypoints, choices, text) are counted in the notes."""
    path = _tasks_file(Path(path))
    document = read_json_file(path, "Label Studio JSON file")
    tasks = [document] if isinstance(document, dict) and "data" in document else document
    if not isinstance(tasks, list):
        raise AnnotationFormatError(f'{path}: expected a list of Label Studio tasks ({{"data": ..., "annotations"}})')
    reading = _Reading(path, list(frames) if frames else None, fps)
    reading.number_frames(tasks)
    for index, task in enumerate(tasks):
        reading.task(task, f"{path}: tasks[{index}]")
    return reading.dataset()


def _tasks_file(path: Path) -> Path:
    if not path.is_dir():
        return path
    for name in (TASKS_FILE, VIDEO_TASKS_FILE):
        if (path / name).is_file():
            return path / name
    found = sorted(path.glob("*.json"))
    if len(found) != 1:
        raise AnnotationFormatError(f"{path}: {len(found)} JSON files and no {TASKS_FILE}; name the file to import")
    return found[0]


@dataclass
class _Region:
    frame: int
    region_id: object
    label: str
    rle: dict  # encoded at once: a long export's masks are never all decoded together
    track: bool = False  # a video track's region: its id is one object on every frame
    score: float | None = None  # a prediction's (the region's own, else its prediction's)


@dataclass
class _Reading:
    path: Path
    frames: list[FrameInfo] | None  # None: built from the tasks' own sizes
    fps: float | None = None  # the video's frame rate, where known
    regions: list[_Region] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    by_name: dict[str, FrameInfo] = field(init=False)  # the media's frames under their names
    by_number: dict[str, FrameInfo] = field(default_factory=dict)  # where no image is named as a frame
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.by_name = frames_by_name(self.frames or [])

    def task(self, task, where: str) -> None:
        if isinstance(task, dict) and "data" not in task and {"image", "video"} & set(task):
            raise AnnotationFormatError(f"{where}: this is Label Studio's JSON-MIN export; export the project as JSON")
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise AnnotationFormatError(f'{where}: expected an object with "data"')
        results, score = self._results(task, where)
        if not results:
            return
        if any(result.get("type") == "videorectangle" for result in results):
            self._video(results, where, score)
            return
        frame = self._frame(task["data"], results, where)
        for index, result in enumerate(results):
            self._region(result, frame, f"{where}: result[{index}]", score)

    def _results(self, task: dict, where: str) -> tuple[list[dict], float | None]:
        """The results of the task's first annotation not cancelled, else of its first prediction (with
        the prediction's score)."""
        for key in ("annotations", "completions", "predictions"):
            entries = task.get(key)
            if entries is None:
                continue
            if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                raise AnnotationFormatError(f"{where}: {key}: expected a list of objects")
            kept = [e for e in entries if not e.get("was_cancelled")]
            if not kept:
                continue
            results = kept[0].get("result", [])
            if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
                raise AnnotationFormatError(f"{where}: {key}[0].result: expected a list of objects")
            if len(kept) > 1:
                self.counts["task(s) with several annotations: the first was read"] += 1
            if key == "predictions":
                self.counts["task(s) read from their predictions (no annotation)"] += 1
                return results, _score(kept[0])
            return results, None
        return [], None

    def number_frames(self, tasks: list) -> None:
        """Where no task's image is one of the media's frames by name, map the images by the numbers their
        names end with (a video's frames extracted by X-AnyLabeling or CVAT: see frame_numbers)."""
        if not self.frames:
            return
        images = [
            _file_name(task["data"]["image"])
            for task in tasks
            if isinstance(task, dict)
            and isinstance(task.get("data"), dict)
            and isinstance(task["data"].get("image"), str)
        ]
        names, named = [UPLOAD_PREFIX.sub("", image) for image in images], [self._named_frame(i) for i in images]
        folders = [self.path.parent / "images", self.path.parent]
        matched, notes = match_frames(names, named, self.frames, folders, self.path)
        if notes:
            self.by_number = dict(zip(names, matched))
            self.notes += notes

    def _frame(self, data: dict, results: list[dict], where: str) -> FrameInfo:
        names = [data.get("image")] + [value for key, value in data.items() if key != "image"]
        names = [_file_name(value) for value in names if isinstance(value, str) and value]
        if not names:
            raise AnnotationFormatError(f"{where}: data names no image")
        if self.frames is None:
            return self._new_frame(names[0], results, where)
        for name in names:
            frame = self._named_frame(name)
            if frame is not None:
                return frame
        frame = self.by_number.get(UPLOAD_PREFIX.sub("", names[0]))
        if frame is not None:
            return frame
        raise AnnotationFormatError(f"{where}: image {names[0]!r} is not a frame of this video or folder")

    def _named_frame(self, name: str) -> FrameInfo | None:
        """The media's frame an image name names: as given or without Label Studio's upload prefix, by file
        name or by stem."""
        for candidate in (name, UPLOAD_PREFIX.sub("", name)):
            frame = self.by_name.get(candidate) or self.by_name.get(PurePosixPath(candidate).stem)
            if frame is not None:
                return frame
        return None

    def _new_frame(self, name: str, results: list[dict], where: str) -> FrameInfo:
        sized = next((r for r in results if "original_width" in r and "original_height" in r), None)
        if sized is None:
            raise AnnotationFormatError(f"{where}: no original_width/original_height; name the images with --media")
        height, width = check_frame_size(sized["original_height"], sized["original_width"], where)
        name = safe_file_name(UPLOAD_PREFIX.sub("", name), "frame.jpg")
        frame = FrameInfo(len(self.frames or []), name, height, width)
        self.frames = (self.frames or []) + [frame]
        return frame

    def _region(self, result: dict, frame: FrameInfo, where: str, score: float | None) -> None:
        kind = str(result.get("type", ""))
        if kind not in AREA_TYPES:
            self.skipped[kind] += 1
            return
        value = result.get("value")
        if not isinstance(value, dict):
            raise AnnotationFormatError(f"{where}: value: expected an object")
        if AREA_TYPES[kind] == "brush" and value.get("rle") == []:  # nothing painted
            self.counts["empty brush region(s) left out"] += 1
            return
        try:
            mask = _mask(AREA_TYPES[kind], value, result, frame)
        except (TypeError, ValueError, KeyError) as exc:
            raise AnnotationFormatError(f"{where}: {kind}: {exc}") from None
        label, encoded = _label(value, kind), rle_codec.encode(mask)
        self.regions.append(_Region(frame.index, result.get("id"), label, encoded, score=_score(result, score)))

    def _video(self, results: list[dict], where: str, score: float | None) -> None:
        if self.frames is None:
            raise AnnotationFormatError(f"{where}: a video task; name its video with --media")
        count = len(self.frames)
        for index, result in enumerate(results):
            if result.get("type") != "videorectangle":
                kind = str(result.get("type", ""))
                self.skipped[kind] += 1
                continue
            here = f"{where}: result[{index}]"
            value = result.get("value")
            sequence = value.get("sequence") if isinstance(value, dict) else None
            if not isinstance(sequence, list) or not all(_is_keyframe(k) for k in sequence):
                raise AnnotationFormatError(
                    f"{here}: value.sequence: expected keyframes with a frame from 1 and finite x, y, width, height"
                )
            sequence = self._on_video_frames(sequence, value)
            shown = keyframes_on_frames(sequence, count)
            past = sum(1 for k in sequence if k["frame"] > count)
            if past:
                self.counts[f"keyframe(s) past the video's {count} frames left out"] += past
            track = result.get("id") if isinstance(result.get("id"), str) else here  # no id: this result
            for number, box in sorted(shown.items()):
                mask = rle_codec.encode(_box_mask(box, self.frames[number]))
                label = _label(value, "labels")
                self.regions.append(_Region(number, track, label, mask, track=True, score=_score(result, score)))

    def _on_video_frames(self, sequence: list[dict], value: dict) -> list[dict]:
        """Keyframes renumbered to the video's frames where Label Studio counted at another rate: its
        frame k is shown at (k - 1) / rate seconds (rate = framesCount / duration, from the config's
        frameRate, 24 unless set), which is the video's frame round((k - 1) * fps / rate)."""
        rate = label_studio_rate(value)
        if rate is None or not self.fps or abs(rate - self.fps) <= RATE_TOLERANCE * self.fps:
            return sequence
        self.counts[
            f"track(s) counted by Label Studio at {rate:.4g} fps, not the video's {self.fps:.4g}: "
            "keyframes placed on the frame shown at their time"
        ] += 1
        return [dict(k, frame=round((k["frame"] - 1) * self.fps / rate) + 1) for k in sequence]

    def dataset(self) -> Dataset:
        own = [int(found.group(1)) if (found := _own_id(r.region_id)) else None for r in self.regions]
        fresh = itertools.count(1 + max((n for n in own if n is not None), default=0))
        tracks: dict[object, int] = {}
        instances: dict[int, list[Instance]] = {}
        for region, object_id in zip(self.regions, own):
            if object_id is None and region.track:  # a video track: one object on all its frames
                if region.region_id not in tracks:
                    tracks[region.region_id] = next(fresh)
                object_id = tracks[region.region_id]
            if object_id is None:  # an image region: an object of its own
                object_id = next(fresh)
            part = Instance(object_id, region.label, region.rle, region.score)
            add_part(instances.setdefault(region.frame, []), part)  # anymask writes a polygon per component
        classes = list(dict.fromkeys(r.label for r in self.regions))
        notes = self.notes + [f"{count} {what}" for what, count in self.counts.items()]
        if self.skipped:
            kinds = ", ".join(f"{count} {kind or 'untyped'}" for kind, count in self.skipped.items())
            notes.append(f"left out {sum(self.skipped.values())} result(s) that are not areas ({kinds})")
        return Dataset(self.path.stem, self.frames or [], classes, instances, notes=notes)


def _score(entry: dict, default: float | None = None) -> float | None:
    score = entry.get("score")
    return float(score) if is_finite_number(score) else default


def _own_id(region_id):
    return OWN_REGION_ID.match(region_id) if isinstance(region_id, str) else None


def _file_name(value: str) -> str:
    """The file name a task's data points at: a local-files `?d=` path, an upload URL, or a plain path."""
    if "?d=" in value:
        value = value.split("?d=", 1)[1]
    return PurePosixPath(unquote(value.split("?", 1)[0]).replace("\\", "/")).name


def _label(value: dict, kind: str) -> str:
    for key in (kind, "labels"):
        names = value.get(key)
        if isinstance(names, list) and names and isinstance(names[0], str):
            return names[0]
    return "object"


def _mask(shape: str, value: dict, result: dict, frame: FrameInfo) -> np.ndarray:
    height, width = frame.height, frame.width
    if shape == "brush":
        size = (result.get("original_height", height), result.get("original_width", width))
        if size != (height, width):
            raise ValueError(f"the mask is {size[1]}x{size[0]}, the image {width}x{height}")
        return decode_brush(value.get("rle"), height, width)
    if shape == "polygon":
        points = np.asarray(value["points"], dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 2 or len(points) < 3 or not np.isfinite(points).all():
            raise ValueError("points: expected three or more [x, y] pairs of finite numbers")
        return edge_polygon_mask(points * [width / 100, height / 100], height, width)
    if shape == "ellipse":
        cx, cy, rx, ry, turn = _numbers(value, ("x", "y", "radiusX", "radiusY", "rotation"))
        x_scale, y_scale = width / 100, height / 100
        return ellipse_mask(cx * x_scale, cy * y_scale, rx * x_scale, ry * y_scale, turn, height, width)
    return _box_mask(dict(zip(BOX_KEYS, _numbers(value, BOX_KEYS))), frame)


BOX_KEYS = ("x", "y", "width", "height", "rotation")


def _numbers(value: dict, keys: tuple[str, ...]) -> list[float]:
    numbers = [value.get(key, 0.0 if key == "rotation" else None) for key in keys]
    for key, number in zip(keys, numbers):
        if not is_finite_number(number):
            raise ValueError(f"{key} must be a finite number, got {number!r}")
    return [float(n) for n in numbers]


def _box_mask(box: dict, frame: FrameInfo) -> np.ndarray:
    """A Label Studio box (percent; turned `rotation` degrees clockwise about its top-left corner)."""
    height, width = frame.height, frame.width
    left, top = box["x"] * width / 100, box["y"] * height / 100
    right, bottom = left + box["width"] * width / 100, top + box["height"] * height / 100
    return turned_box_mask((left, top, right, bottom), box.get("rotation", 0.0), height, width, pivot=(left, top))


def label_studio_rate(value: dict) -> float | None:
    """The frame rate Label Studio counted a video track's frames at: its framesCount over its duration."""
    count, duration = value.get("framesCount"), value.get("duration")
    if is_finite_number(count) and is_finite_number(duration) and count > 0 and duration > 0:
        return float(count) / float(duration)
    return None


def _is_keyframe(keyframe) -> bool:
    return (
        isinstance(keyframe, dict)
        and isinstance(keyframe.get("frame"), int)
        and not isinstance(keyframe.get("frame"), bool)
        and 1 <= keyframe["frame"] < 2**31
        and all(is_finite_number(keyframe.get(key)) for key in ("x", "y", "width", "height"))
        and is_finite_number(keyframe.get("rotation", 0))
    )


def keyframes_on_frames(sequence: list[dict], count: int) -> dict[int, dict]:
    """A videorectangle's boxes on each frame (0-based) of a `count`-frame video, as Label Studio shows
    them: on every keyframe; between an enabled keyframe and the next, moving linearly; after the last
    enabled one, staying to the video's end."""
    ordered = [dict(k, **{key: float(k.get(key, 0.0)) for key in BOX_KEYS}) for k in sorted(sequence, key=_frame_of)]
    shown = {k["frame"] - 1: {key: k[key] for key in BOX_KEYS} for k in ordered}
    for keyframe, following in zip(ordered, ordered[1:] + [None]):
        if not keyframe.get("enabled", True):
            continue
        last = following["frame"] if following is not None else count + 1
        for number in range(keyframe["frame"] + 1, min(last, count + 1)):
            share = (number - keyframe["frame"]) / (last - keyframe["frame"]) if following is not None else 0.0
            target = following if following is not None else keyframe
            shown[number - 1] = {key: keyframe[key] + share * (target[key] - keyframe[key]) for key in BOX_KEYS}
    return {frame: box for frame, box in shown.items() if 0 <= frame < count}


def _frame_of(keyframe: dict) -> int:
    return keyframe["frame"]
