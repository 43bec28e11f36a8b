"""Batch manifests: a JSON or JSONL list of videos with their prompts or detection seeds, or a folder."""

from __future__ import annotations

import glob
import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from ..checks import is_finite_number, parse_json, read_text_file
from ..errors import AnnotationFormatError
from ..session.prompt_file import parse_prompts, prompts_digest, read_prompts
from ..vocabulary import DIRECTIONS, EXPORT_FORMATS

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
SEED_FORMATS = ("coco", "yolo", "mot", "label-studio")
PROMPTS_SUFFIX = ".prompts.json"


@dataclass(frozen=True)
class Seeds:
    """Detection boxes that become box prompts: a COCO file, a YOLO label folder, a MOT text file or a Label
    Studio export."""

    format: str
    file: Path
    frames: tuple[int, ...] = (0,)
    min_score: float = 0.5
    classes: tuple[str, ...] | None = None  # keep only these classes (None: all)


@dataclass(frozen=True)
class VideoEntry:
    """One video of a batch: its media, its prompts (or seeds), and the options it overrides."""

    path: Path
    name: str  # its output folder under --out, unique within the batch
    where: str  # "manifest.json: videos[3]", for error lines
    prompts: tuple[dict, ...] | None = None
    seeds: Seeds | None = None
    formats: tuple[str, ...] | None = None
    direction: str | None = None
    start: int | None = None
    end: int | None = None

    def fingerprint(self, options: dict) -> str:
        """A hash of everything that decides this video's result; a rerun with another one starts over."""
        entry = asdict(self)
        entry.pop("where")
        entry["prompts"] = prompts_digest(list(self.prompts)) if self.prompts else None
        text = json.dumps({"entry": entry, "options": options}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_manifest(path: str | Path) -> list[VideoEntry]:
    """A manifest file (`{"videos": [...]}` JSON, or JSONL with one entry a line) or a folder of videos.

    In a folder, each video (a file, or a subfolder of frames) with a `<name>.prompts.json` beside it
    is an entry. Relative paths are relative to the manifest's folder.
    """
    path = Path(path)
    if path.is_dir():
        entries = _folder_entries(path)
        base = path
    else:
        entries = _file_entries(path)
        base = path.parent
    if not entries:
        raise AnnotationFormatError(f"{path}: the manifest lists no videos")
    names: set[str] = set()
    return [_entry(raw, where, base, names) for raw, where in entries]


def _file_entries(path: Path) -> list[tuple[dict, str]]:
    text = read_text_file(path, "manifest")
    if path.suffix.lower() == ".jsonl":
        lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
        return [(parse_json(line, f"{path}: line {number}"), f"{path}: line {number}") for number, line in lines]
    document = parse_json(text, str(path))
    videos = document.get("videos") if isinstance(document, dict) else None
    if not isinstance(videos, list):
        raise AnnotationFormatError(f'{path}: expected {{"videos": [...]}} (or a .jsonl file, one video a line)')
    return [(video, f"{path}: videos[{index}]") for index, video in enumerate(videos)]


def _folder_entries(folder: Path) -> list[tuple[dict, str]]:
    entries = []
    for prompts in sorted(folder.glob(f"*{PROMPTS_SUFFIX}")):
        stem = prompts.name[: -len(PROMPTS_SUFFIX)]
        candidates = [p for p in folder.glob(f"{glob.escape(stem)}*") if p != prompts and _is_media(p, stem)]
        if not candidates:
            raise AnnotationFormatError(f"{prompts}: no video or frame folder named {stem!r} beside it")
        entries.append(({"path": candidates[0].name, "prompts": prompts.name}, str(prompts)))
    return entries


def _is_media(path: Path, stem: str) -> bool:
    if path.is_dir():
        return path.name == stem
    return path.stem == stem and path.suffix.lower() in VIDEO_SUFFIXES


def _entry(raw, where: str, base: Path, names: set[str]) -> VideoEntry:
    if not isinstance(raw, dict):
        raise AnnotationFormatError(f'{where}: expected an object with a "path"')
    media = _path_text(raw.get("path"), f"{where}.path", "a video file or frame folder path")
    media_path = (base / media).resolve() if not Path(media).is_absolute() else Path(media)
    prompts, seeds = raw.get("prompts"), raw.get("seeds")
    if (prompts is None) == (seeds is None):
        raise AnnotationFormatError(f'{where}: give either "prompts" or "seeds"')
    return VideoEntry(
        path=media_path,
        name=_unique_name(media_path, names),
        where=where,
        prompts=None if prompts is None else tuple(_prompts(prompts, f"{where}.prompts", base)),
        seeds=None if seeds is None else _seeds(seeds, f"{where}.seeds", base),
        formats=_choices(raw.get("formats"), EXPORT_FORMATS, f"{where}.formats"),
        direction=_direction(raw.get("direction"), f"{where}.direction"),
        start=_frame(raw.get("start"), f"{where}.start"),
        end=_frame(raw.get("end"), f"{where}.end"),
    )


def _prompts(value, where: str, base: Path) -> list[dict]:
    if isinstance(value, str):  # a prompts.json file beside the manifest
        return read_prompts(base / _path_text(value, where, "a prompts file"))
    return parse_prompts(value, where)


def _seeds(value, where: str, base: Path) -> Seeds:
    if not isinstance(value, dict):
        raise AnnotationFormatError(f'{where}: expected {{"format", "file", "frames", "min_score", "classes"}}')
    kind = value.get("format")
    if kind not in SEED_FORMATS:
        raise AnnotationFormatError(f"{where}.format: expected one of {', '.join(SEED_FORMATS)}, got {kind!r}")
    file = _path_text(value.get("file"), f"{where}.file", "a path")
    frames = value.get("frames", [0])
    if not isinstance(frames, list) or not frames or not all(_frame(f, f"{where}.frames") is not None for f in frames):
        raise AnnotationFormatError(f"{where}.frames: expected a list of frame numbers")
    score = value.get("min_score", 0.5)
    if not is_finite_number(score):
        raise AnnotationFormatError(f"{where}.min_score: expected a number")
    classes = value.get("classes")
    if classes is not None and not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
        raise AnnotationFormatError(f"{where}.classes: expected a list of class names")
    return Seeds(kind, base / file, tuple(frames), float(score), None if classes is None else tuple(classes))


def _path_text(value, where: str, expected: str) -> str:
    """A path as the manifest gives it: a non-empty string the operating system can take."""
    if not isinstance(value, str) or not value:
        raise AnnotationFormatError(f"{where}: expected {expected}")
    if "\0" in value:
        raise AnnotationFormatError(f"{where}: a path cannot hold a NUL character")
    return value


def _choices(value, allowed, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(v in allowed for v in value):
        raise AnnotationFormatError(f"{where}: expected a list of {', '.join(allowed)}")
    return tuple(value)


def _direction(value, where: str) -> str | None:
    if value is not None and value not in DIRECTIONS:
        raise AnnotationFormatError(f"{where}: expected one of {', '.join(DIRECTIONS)}, got {value!r}")
    return value


def _frame(value, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AnnotationFormatError(f"{where}: expected a frame number, got {value!r}")
    return value


def _unique_name(media: Path, taken: set[str]) -> str:
    """The output folder's name: the video's stem made safe for a file name, made unique in the batch."""
    stem = media.stem if media.suffix.lower() in VIDEO_SUFFIXES else media.name
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._") or "video"
    name, count = base, 1
    while name in taken:
        count += 1
        name = f"{base}-{count}"
    taken.add(name)
    return name
