"""Label Studio JSON: a task per frame (polygons, boxes, rotated boxes or brush masks), a video task of box
tracks (videorectangle) over a video the browser plays, and the labeling configs to paste into a project."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from ..annotations.geometry import mask_to_rotated_box, unrotated_box
from ..annotations.shapes import palette_color
from ..atomic import atomic_write_text
from .dataset import Dataset, FrameInfo, Instance, Tracing
from .label_studio_brush import encode_brush
from .label_studio_video import browser_video, video_frame_count

LOCAL_FILES = "/data/local-files/?d="  # Label Studio's URL for files under LOCAL_FILES_DOCUMENT_ROOT
FROM_NAME, IMAGE_TAG = "label", "image"
VIDEO_FROM_NAME, VIDEO_TAG = "box", "video"
RESULT_TYPES = {
    "polygon": ("polygonlabels", "PolygonLabels"),
    "rectangle": ("rectanglelabels", "RectangleLabels"),
    "rotation": ("rectanglelabels", "RectangleLabels"),
    "mask": ("brushlabels", "BrushLabels"),
}
TASKS_FILE, CONFIG_FILE = "tasks.json", "label_config.xml"
VIDEO_TASKS_FILE, VIDEO_CONFIG_FILE = "video_tasks.json", "video_label_config.xml"
FPS_FIELD = "fps"  # the video task's frame rate, which its config's <Video frameRate="$fps"> reads
OBJECT_ID_PREFIX = "obj"  # region ids `obj<track>-<part>`: the object a region belongs to survives a round trip


def export_label_studio(
    dataset: Dataset, out: Path, mode: str = "polygon", tolerance: float = 1.0, empty_frames: bool = False
) -> Path:
    """tasks.json (a task per frame, its image under images/), label_config.xml, and for a video also
    video_tasks.json (one task, each object a videorectangle track) with video_label_config.xml and the video."""
    video = Path(str(getattr(dataset.source, "path", "")))
    with_video = getattr(dataset.source, "files", None) is None and video.is_file() and bool(dataset.frames)
    report = dataset.progress
    total = len(dataset.frames) + (video_frame_count(dataset) if with_video else 0)
    if report is not None:  # the video's frames, if it is encoded, continue the frames' progress
        dataset.progress = lambda done, _: report(done, total)
    try:
        _write_frame_tasks(dataset, out, mode, tolerance, empty_frames)
        if with_video:
            encoding = None if report is None else lambda done: report(len(dataset.frames) + done, total)
            _write_video_task(dataset, browser_video(dataset, video, out, encoding), out)
    finally:
        dataset.progress = report
    if report is not None and with_video:
        report(total, total)
    return out / TASKS_FILE


def _write_frame_tasks(dataset: Dataset, out: Path, mode: str, tolerance: float, empty_frames: bool) -> None:
    result_type, tag = RESULT_TYPES[mode]
    tasks = []
    for frame in dataset.each_frame(Tracing(tolerance, pixel_edges=True) if mode == "polygon" else None):
        instances = dataset.on(frame.index)
        if not instances and not empty_frames:
            continue
        image_name = dataset.image_name(frame)
        dataset.write_image(frame, out / "images" / image_name)
        results = [
            dict(region, id=f"{OBJECT_ID_PREFIX}{dataset.track_id(instance.object_id)}-{part}")
            for instance in instances
            for part, region in enumerate(_regions(instance, frame, mode, tolerance, result_type))
        ]
        data = {IMAGE_TAG: f"{LOCAL_FILES}images/{image_name}", "frame": frame.index}
        # Label Studio gives imported tasks ids of its own; these make the file read as an export does too
        tasks.append({"id": frame.index + 1, "data": data, "annotations": [{"id": frame.index + 1, "result": results}]})
    atomic_write_text(out / TASKS_FILE, json.dumps(tasks) + "\n")  # compact: brush masks are long lists
    atomic_write_text(out / CONFIG_FILE, _config(dataset.classes, ("Image", IMAGE_TAG, "$image"), (tag, FROM_NAME)))


def _write_video_task(dataset: Dataset, video_name: str, out: Path) -> None:
    atomic_write_text(out / VIDEO_TASKS_FILE, json.dumps([_video_task(dataset, video_name)]) + "\n")
    config = _config(dataset.classes, ("Video", VIDEO_TAG, "$video"), ("Labels", "videoLabels"))
    atomic_write_text(out / VIDEO_CONFIG_FILE, config)


def _regions(instance: Instance, frame: FrameInfo, mode: str, tolerance: float, result_type: str) -> list[dict]:
    """The object's regions on one frame, in percent of the image as Label Studio keeps them."""
    width, height = frame.width, frame.height
    if mode == "polygon":
        values = [
            {"points": [[100 * x / width, 100 * y / height] for x, y in ring], "closed": True}
            for ring in instance.rings(tolerance, pixel_edges=True)
        ]
    elif mode == "mask":
        values = [{"format": "rle", "rle": encode_brush(instance.mask)}]
    elif mode == "rectangle":
        values = [_box_value(instance.box, 0.0, frame)] if instance.box else []
    else:
        rotated = mask_to_rotated_box(instance.mask)
        values = [_rotated_value(*rotated, frame)] if rotated else []
    common = {"type": result_type, "from_name": FROM_NAME, "to_name": IMAGE_TAG, "origin": "manual"}
    size = {"original_width": width, "original_height": height, "image_rotation": 0}
    return [dict(common, **size, value=dict(value, **{result_type: [instance.label]})) for value in values]


def _box_value(box, rotation: float, frame: FrameInfo) -> dict:
    x1, y1, x2, y2 = box
    return {
        "x": 100 * x1 / frame.width,
        "y": 100 * y1 / frame.height,
        "width": 100 * (x2 - x1) / frame.width,
        "height": 100 * (y2 - y1) / frame.height,
        "rotation": rotation,
    }


def _rotated_value(corners, direction: float, frame: FrameInfo) -> dict:
    """Label Studio turns a box about its top-left corner (x, y), which stays put: the first corner."""
    (x1, y1, x2, y2), degrees = unrotated_box(corners, direction)
    left, top = corners[0]
    return _box_value((left, top, left + x2 - x1, top + y2 - y1), degrees, frame)


def _video_task(dataset: Dataset, video_name: str) -> dict:
    """One task for the whole video: each object a videorectangle track, a keyframe on every frame it is
    on, the last one of each stretch disabled (Label Studio shows no box after a disabled keyframe)."""
    count, fps = video_frame_count(dataset), dataset.fps or 30.0
    sequences: dict[int, list[dict]] = {}
    for frame in dataset.frames:
        for instance in dataset.on(frame.index):
            box = instance.box
            if box is None:
                continue
            keyframe = {"frame": frame.index + 1, "enabled": True, "time": frame.index / fps}
            sequences.setdefault(instance.object_id, []).append(dict(keyframe, **_box_value(box, 0.0, frame)))
    results = []
    for object_id, label in dataset.tracks().items():
        sequence = sequences.get(object_id, [])
        for keyframe, following in zip(sequence, sequence[1:] + [None]):
            if following is None or following["frame"] != keyframe["frame"] + 1:
                keyframe["enabled"] = following is None and keyframe["frame"] == count
        value = {"sequence": sequence, "framesCount": count, "duration": count / fps, "labels": [label]}
        region_id = f"{OBJECT_ID_PREFIX}{dataset.track_id(object_id)}"
        results.append(
            {"id": region_id, "type": "videorectangle", "from_name": VIDEO_FROM_NAME, "to_name": VIDEO_TAG}
            | {"origin": "manual", "value": value}
        )
    data = {VIDEO_TAG: f"{LOCAL_FILES}{video_name}", FPS_FIELD: fps}  # the config's frameRate="$fps"
    return {"id": 1, "data": data, "annotations": [{"id": 1, "result": results}]}


def _config(classes: list[str], media: tuple[str, str, str], control: tuple[str, str]) -> str:
    """A labeling config declaring every class (with anymask's colours), for the project's Labeling Setup."""
    view = ET.Element("View")
    kind, name, value = media
    media_element = ET.SubElement(view, kind, name=name, value=value)
    if kind == "Video":
        media_element.set("frameRate", f"${FPS_FIELD}")  # Label Studio assumes 24 fps otherwise
        ET.SubElement(view, "VideoRectangle", name=VIDEO_FROM_NAME, toName=name)
    labels = ET.SubElement(view, control[0], name=control[1], toName=name)
    for index, label in enumerate(classes):
        red, green, blue = palette_color(index)
        ET.SubElement(labels, "Label", value=label, background=f"#{red:02x}{green:02x}{blue:02x}")
    ET.indent(view)
    return ET.tostring(view, encoding="unicode") + "\n"
