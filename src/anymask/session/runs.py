"""Tracking runs of a session: track a stretch, save each frame at once, optionally in a background job."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import AnymaskError
from ..project.snapshot import Region
from ..tracking.tracker import propagation_order
from ..vocabulary import DIRECTIONS
from .events import TRACKING_FINISHED, TRACKING_PROGRESS, TRACKING_STARTED

if TYPE_CHECKING:
    from .marking import Marking
    from .model_host import ModelHost
    from .project import AnnotatedProject

MANUAL_SOURCES = ("prompt", "edited", "imported")
RESUME_MEMORIES = 6  # SAM 2 attends to the last num_maskmem - 1 = 6 tracked frames' spatial memories


def tracking_passes(direction: str, start: int, end: int | None, num_frames: int) -> list[tuple[bool, int, int]]:
    """(reverse, first, last) for each pass; `end` bounds the stretch in the tracking direction."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    if not 0 <= start < num_frames:
        raise ValueError(f"start frame {start} is outside the video (0..{num_frames - 1})")
    passes = []
    if direction in ("forward", "both"):
        passes.append((False, start, min(num_frames - 1, end if end is not None and end >= start else num_frames - 1)))
    if direction in ("backward", "both"):
        passes.append((True, start, max(0, end if end is not None and end <= start else 0)))
    return passes


def pass_frames(reverse: bool, first: int, last: int) -> range:
    """The frames a pass from `first` to `last` tracks, in order (none backward from frame 0)."""
    return propagation_order(first, reverse, abs(last - first), max(first, last) + 1)


def saved_frames(store, objects) -> set[int]:
    """Frames on which tracking saved the presence of every one of `objects`."""
    seen: dict[int, set[int]] = {}
    for frame, object_id, _, _ in store.presence():
        seen.setdefault(frame, set()).add(object_id)
    wanted = set(objects)
    return {frame for frame, ids in seen.items() if wanted <= ids}


def resume_passes(store, passes, objects) -> list[tuple[bool, int, int, list[int]]]:
    """The passes less the frames an earlier run already saved for every object (a resumed run).

    Each pass becomes (reverse, first, last, restored): it starts after the saved frames at its
    beginning, and `restored` lists the saved frames just before that whose memories are rebuilt.
    """
    done = saved_frames(store, objects)
    plan = []
    for reverse, first, last in passes:
        order = pass_frames(reverse, first, last)
        saved = 0
        while saved < len(order) and order[saved] in done:
            saved += 1
        if saved < len(order):
            plan.append((reverse, order[saved], last, list(order[max(0, saved - RESUME_MEMORIES) : saved])))
    return plan


def run_tracking(
    project: "AnnotatedProject",
    host: "ModelHost",
    marking: "Marking",
    direction: str,
    start: int | None,
    end: int | None,
    progress: Callable[[int, int], None] | None,
    cancel: Callable[[], bool] | None,
    resume: bool = False,
) -> list[int]:
    """Track every finished object over the stretch, as one undoable change; returns the frames done.

    resume: skip the frames at the start of each pass that an earlier, interrupted run saved, rebuilding
    the tracker's memory of the last few from their saved masks.
    """
    start = project.current_frame if start is None else start
    passes = tracking_passes(direction, start, end, len(project.source))
    with project.lock:
        marking.clear()
        objects = project.store.objects()
        if not objects:
            raise ValueError("finish at least one object before tracking")
        project.last_direction = direction
        host.replay_stored_prompts()
        plan = resume_passes(project.store, passes, objects) if resume else [(*p, []) for p in passes]
        total = sum(len(pass_frames(reverse, first, last)) for reverse, first, last, _ in plan)
        lowest = min(min(first, last) for _, first, last in passes)
        highest = max(max(first, last) for _, first, last in passes)
        project.observers.emit(TRACKING_STARTED, direction=direction, start=start, end=end, total=total)
        done: list[int] = []
        if total == 0:  # backward from frame 0, or a resumed run with every frame saved: no empty undo step
            return done
        described = f"track {direction} from frame {start + 1}"  # frames counted from 1, as the app shows them
        with project.undoable(described, Region.frames(lowest, highest), atomic=False):
            for reverse, first, last, restored in plan:
                for frame in restored:
                    saved = {object_id: project.store.mask(frame, object_id) for object_id in objects}
                    host.tracker.restore_tracked(frame, saved, reverse)
                frames = host.tracker.propagate_with_scores(first, reverse, max_frames=abs(last - first))
                for frame, obj_ids, logits, scores in frames:
                    _store_tracked(project, frame, obj_ids, logits, scores, objects)
                    done.append(frame)
                    project.observers.emit(TRACKING_PROGRESS, frame=frame, done=len(done), total=total)
                    if progress is not None:
                        progress(frame, len(done))
                    if cancel is not None and cancel():
                        frames.close()
                        return done
        return done


def _store_tracked(
    project: "AnnotatedProject",
    frame: int,
    obj_ids: list[int],
    logits: np.ndarray,
    scores: dict[int, tuple[float, float]],
    objects: dict[int, str],
) -> None:
    store = project.store
    protected = MANUAL_SOURCES if project.keep_manual_shapes else ("prompt",)
    manual = {o for o, source in store.mask_sources(frame).items() if source in protected}
    with store.transaction():
        store.put_presence(frame, {o: scores[o] for o in obj_ids if o in objects and o in scores})
        for index, object_id in enumerate(obj_ids):
            if object_id not in objects or object_id in manual:
                continue  # a person's own mask is not overwritten by tracking
            presence, iou = scores.get(object_id, (-1.0, 0.0))
            mask = logits[index] > 0
            if presence < 0 or not mask.any():
                store.delete_mask(frame, object_id)  # absent here: no shape written
            else:
                project.save_mask(frame, object_id, objects[object_id], mask, iou, "tracked")


class TrackingJob:
    """`run_tracking` in a daemon thread: `cancel()` stops after the current frame, `wait()` joins.

    `frames` lists the frames saved so far; `error` holds a one-line message if tracking failed.
    """

    def __init__(
        self,
        project: "AnnotatedProject",
        host: "ModelHost",
        marking: "Marking",
        direction: str,
        start: int | None,
        end: int | None,
    ) -> None:
        self.project, self.host, self.marking, self.direction = project, host, marking, direction
        self.start_frame = project.current_frame if start is None else start
        self.end = end
        self.frames: list[int] = []
        self.error: str | None = None
        self.cancelled = False
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="anymask-tracking", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the job has ended."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            run_tracking(
                self.project,
                self.host,
                self.marking,
                self.direction,
                self.start_frame,
                self.end,
                lambda frame, count: self.frames.append(frame),
                self._cancel.is_set,
            )
        except (AnymaskError, ValueError, RuntimeError, OSError) as exc:
            self.error = str(exc)
        finally:
            self.cancelled = self._cancel.is_set()
            self.project.observers.emit(
                TRACKING_FINISHED, frames=list(self.frames), cancelled=self.cancelled, error=self.error
            )
