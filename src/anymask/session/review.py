"""Review list and timeline from per-frame presence scores: where objects were lost, reappeared or wavered."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

LOW_IOU = 0.5  # a predicted IoU below this is "low confidence"
KINDS = ("lost", "reappeared", "confidence dropped")


@dataclass(frozen=True)
class ReviewItem:
    frame: int
    object_id: int
    kind: str  # one of KINDS


def frame_state(presence: float, iou: float | None) -> str:
    if presence < 0:
        return "absent"
    return "low" if iou is not None and iou < LOW_IOU else "present"


def timeline(rows) -> dict[int, str]:
    """(frame, object_id, presence, iou) rows of one object -> frame -> present | low | absent."""
    return {frame: frame_state(presence, iou) for frame, _, presence, iou in rows}


def review_items(rows, lost_after: int = 3) -> list[ReviewItem]:
    """Per object, in frame order: `lost` where it goes absent for at least `lost_after` consecutive frames,
    `reappeared` where it comes back after such a stretch, `confidence dropped` where it turns low or goes
    absent for a shorter stretch. Frames not tracked break a stretch."""
    items = []
    for object_id, object_rows in groupby(rows, key=lambda row: row[1]):
        states = [(frame, frame_state(presence, iou)) for frame, _, presence, iou in object_rows]
        previous_state, previous_frame, index = None, None, 0
        while index < len(states):
            frame, state = states[index]
            contiguous = previous_frame is not None and frame == previous_frame + 1
            if state == "absent":
                run = 1
                while (
                    index + run < len(states)
                    and states[index + run][1] == "absent"
                    and states[index + run][0] == states[index + run - 1][0] + 1
                ):
                    run += 1
                if previous_state in ("present", "low") and contiguous:
                    items.append(ReviewItem(frame, object_id, "lost" if run >= lost_after else "confidence dropped"))
                end_frame = states[index + run - 1][0]
                if index + run < len(states) and states[index + run][0] == end_frame + 1 and run >= lost_after:
                    items.append(ReviewItem(states[index + run][0], object_id, "reappeared"))
                previous_state, previous_frame, index = "absent", end_frame, index + run
                continue
            if state == "low" and previous_state == "present" and contiguous:
                items.append(ReviewItem(frame, object_id, "confidence dropped"))
            previous_state, previous_frame, index = state, frame, index + 1
    return sorted(items, key=lambda item: (item.frame, item.object_id))
