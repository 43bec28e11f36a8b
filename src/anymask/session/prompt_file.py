"""prompts.json (`anymask track`, `segment`, `batch`): read and check it, apply its entries, plan the passes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..checks import is_finite_number, read_json_file
from ..errors import AnnotationFormatError, AnymaskError


def read_prompts(path: Path, images: bool = False) -> list[dict]:
    """prompts.json: {"objects": [{"id", "label", "frame", "points": [[x, y, 1|0]], "box": [x1, y1, x2, y2]}]}.

    For images (`anymask segment`) an entry names its "image" (a file name in the folder) instead of a frame,
    and "id" is optional (each entry is one object).
    """
    path = Path(path)
    document = read_json_file(path, "prompts file")
    return parse_prompts(document, str(path), images)


def parse_prompts(document, where: str, images: bool = False) -> list[dict]:
    """The checked entries of a prompts document already read (`where` names it in errors), by frame."""
    entries = document.get("objects") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not entries:
        raise AnnotationFormatError(f'{where}: expected {{"objects": [...]}} with at least one object')
    checked = [_check_entry(entry, f"{where}: objects[{index}]", images) for index, entry in enumerate(entries)]
    return checked if images else sorted(checked, key=lambda e: e["frame"])


MAX_POINTS = 64  # clicks per object and frame; SAM 2 was trained with far fewer
MAX_ID = 2**31 - 1  # object ids and frame numbers fit a 32-bit integer


def _check_entry(entry, where: str, images: bool) -> dict:
    if not isinstance(entry, dict):
        raise AnnotationFormatError(f"{where}: expected an object with points or a box")
    object_id = entry.get("id")
    if (object_id is not None or not images) and (
        isinstance(object_id, bool) or not isinstance(object_id, int) or not 0 <= object_id <= MAX_ID
    ):
        raise AnnotationFormatError(f'{where}: needs an integer "id" from 0 to {MAX_ID}')
    frame = entry.get("frame", 0)
    if isinstance(frame, bool) or not isinstance(frame, int) or not 0 <= frame <= MAX_ID:
        raise AnnotationFormatError(f"{where}.frame: expected a frame number, got {frame!r}")
    image = entry.get("image")
    if image is not None and (not images or not isinstance(image, str)):
        raise AnnotationFormatError(
            f"{where}.image: expected an image file name"
            if images
            else f'{where}: "image" is for anymask segment; use "frame" for videos'
        )
    points = entry.get("points") or []
    if not isinstance(points, list) or not all(
        isinstance(p, list) and len(p) == 3 and all(is_finite_number(v) for v in p) and p[2] in (0, 1) for p in points
    ):
        raise AnnotationFormatError(f"{where}.points: expected [[x, y, 1 or 0], ...]")
    if len(points) > MAX_POINTS:
        raise AnnotationFormatError(f"{where}.points: {len(points)} points; at most {MAX_POINTS} per object and frame")
    box = entry.get("box")
    if box is not None and not (isinstance(box, list) and len(box) == 4 and all(is_finite_number(v) for v in box)):
        raise AnnotationFormatError(f"{where}.box: expected [x1, y1, x2, y2]")
    if not points and box is None:
        raise AnnotationFormatError(f"{where}: give points or a box")
    label = entry.get("label")
    if label is not None and not isinstance(label, str):
        raise AnnotationFormatError(f"{where}.label: expected a string")
    return {
        "id": object_id,
        "label": label,
        "frame": frame,
        "image": image,
        "points": points,
        "box": box,
        "where": where,
        "frame_given": "frame" in entry,
    }


def apply_prompt(session, entry: dict) -> int:
    """Mark one entry's object on its frame as a person would (box first, then clicks) and finish it."""
    if entry["frame"] >= len(session.source):
        raise AnymaskError(
            f"{entry['where']}.frame: {entry['frame']} is outside the video (0..{len(session.source) - 1})"
        )
    session.set_frame(entry["frame"])
    if entry["id"] is not None:
        session.mark(entry["id"])
    try:
        if entry["box"] is not None:
            session.add_box(*entry["box"])
        if entry["points"]:  # all of an object's clicks on a frame in one model run
            session.add_points([(x, y, bool(positive)) for x, y, positive in entry["points"]])
    except ValueError as exc:
        raise AnymaskError(f"{entry['where']}: {exc}") from None
    return session.finish_object(entry["label"])


def apply_prompts(session, entries: list[dict], say=None) -> None:
    """Apply every entry in order (`say` gets a progress line for each)."""
    for index, entry in enumerate(entries, start=1):
        if say is not None:
            say(f"prompt {index}/{len(entries)}: object {entry['id']} on frame {entry['frame']}")
        apply_prompt(session, entry)


APPLIED_PROMPTS_KEY = "applied_prompts"  # project meta: the digest of the prompts file last applied


def prompts_digest(entries: list[dict]) -> str:
    """A hash of what the entries ask for (not where they were read from)."""
    wanted = [{k: v for k, v in e.items() if k not in ("where", "frame_given")} for e in entries]
    return hashlib.sha256(json.dumps(wanted, sort_keys=True).encode()).hexdigest()[:16]


def apply_prompts_once(session, entries: list[dict], say=None) -> bool:
    """Apply the entries unless the project already holds exactly these (a rerun); True if applied now."""
    digest = prompts_digest(entries)
    store = session.store
    if store.get_meta(APPLIED_PROMPTS_KEY) == digest and store.objects():
        return False
    apply_prompts(session, entries, say)
    store.set_meta(APPLIED_PROMPTS_KEY, digest)
    return True


def tracking_plan(entries: list[dict], direction: str, first: int, last: int) -> list[tuple[str, int, int]]:
    """(direction, start, end) passes over [first, last] from the first prompted frame (both: forward first)."""
    start = min(max(entries[0]["frame"], first), last)
    if direction == "forward":
        return [("forward", start, last)]
    if direction == "backward":
        return [("backward", start, first)]
    return [("forward", start, last), ("backward", start, first)]
