"""Marking: the prompts of the object being marked (a new object or a correction) until it is finished."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..project.snapshot import Region
from .events import FRAME_CHANGED, MASK_UPDATED, OBJECT_ADDED
from .history import CallbackChange
from .model_host import ModelHost, split_points
from .project import AnnotatedProject


class Marking:
    """Clicks and a box for one object on the current frame; each click is undoable, `finish` confirms."""

    def __init__(self, project: AnnotatedProject, host: ModelHost) -> None:
        self.project, self.host = project, host
        self.object_id: int | None = None
        self.points: list[tuple[float, float, int]] = []
        self.box: list[float] | None = None
        self.mask: np.ndarray | None = None

    @property
    def active(self) -> bool:
        return bool(self.points) or self.box is not None

    def next_object_id(self) -> int:
        known = set(self.project.store.objects()) | set(self.host.tracked_ids)
        return max(known, default=0) + 1  # ids start at 1: the track id every format writes

    def mark(self, object_id: int) -> None:
        if self.object_id is not None and self.object_id != object_id:
            self.clear()
        self.object_id = int(object_id)

    def add_points(self, points) -> np.ndarray:
        added = [(float(x), float(y), 1 if positive else 0) for x, y, positive in points]
        if not added:
            raise ValueError("give at least one point")
        count = len(added)
        return self._change(
            lambda: self.points.extend(added),
            lambda: self.points.__delitem__(slice(-count, None)),
            "add point" if count == 1 else f"add {count} points",
        )

    def add_box(self, x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
        previous = self.box
        box = [float(min(x1, x2)), float(min(y1, y2)), float(max(x1, x2)), float(max(y1, y2))]
        return self._change(lambda: setattr(self, "box", box), lambda: setattr(self, "box", previous), "add box")

    def _change(self, apply: Callable, revert: Callable, description: str) -> np.ndarray:
        project = self.project
        project.guard()
        with project.lock:
            if self.object_id is None:
                self.object_id = self.next_object_id()
            object_id, frame = self.object_id, project.current_frame
            if object_id in project.store.objects():
                self.host.replay_stored_prompts([object_id])  # a correction builds on the object's earlier prompts
            before = self.host.tracker.prompt_state(frame, object_id)
            previous_mask = self.mask
            apply()
            try:
                mask = self._prompt_tracker()
            except ValueError:
                revert()  # a prompt outside the frame changes nothing
                raise
            after = self.host.tracker.prompt_state(frame, object_id)

            def undo() -> None:
                revert()
                self.host.tracker.restore_prompt_state(frame, object_id, before)
                self._show(previous_mask)

            def redo() -> None:
                self.object_id = object_id
                apply()
                self.host.tracker.restore_prompt_state(frame, object_id, after)
                self._show(mask)

            project.history.push(CallbackChange(description, undo, redo))
            return mask

    def _prompt_tracker(self) -> np.ndarray:
        points, labels = split_points(self.points)
        if points is None and self.box is None:
            raise ValueError("give a point or a box")
        _, logits = self.host.tracker.add_prompt(
            self.project.current_frame, self.object_id, points=points, labels=labels, box=self.box, only_prompted=True
        )
        self._show(logits[0] > 0)
        return self.mask

    def _show(self, mask: np.ndarray | None) -> None:
        self.mask = mask
        if mask is None and not self.points and self.box is None and self.object_id not in self.project.store.objects():
            self.object_id = None
        self.project.observers.emit(MASK_UPDATED, frame=self.project.current_frame, object_id=self.object_id, mask=mask)

    def clear(self) -> None:
        """Discard the prompts of the object being marked (a correction's earlier frames are kept).
        Undoable: Ctrl+Z brings the prompts (and their mask) back."""
        project = self.project
        with project.lock:
            saved = (self.object_id, list(self.points), self.box, project.current_frame)
            had_prompts = self._discard()
            project.history.drop_pending()
            if had_prompts and (saved[1] or saved[2] is not None):
                project.history.push(CallbackChange("clear prompts", lambda: self._restore(*saved), self._discard))

    def _discard(self) -> bool:
        """Forget the prompts being made; True if there were any."""
        project = self.project
        if self.object_id is not None:
            if self.object_id in project.store.objects():
                self.host.mark_stale()  # the correction's click is in the tracker's memory: replay
            else:
                self.host.forget_object(self.object_id)
        had_prompts = self.object_id is not None
        self._reset()
        if had_prompts:
            project.observers.emit(MASK_UPDATED, frame=project.current_frame, object_id=None, mask=None)
        return had_prompts

    def _restore(self, object_id: int, points: list, box, frame: int) -> None:
        """Undo of clear: the same prompts again on their frame (the model runs once)."""
        if frame != self.project.current_frame:  # cleared by moving to another frame: go back there
            self.project.current_frame = frame
            self.project.observers.emit(FRAME_CHANGED, frame=frame)
        self.object_id, self.points, self.box = object_id, list(points), box
        if object_id in self.project.store.objects():
            self.host.replay_stored_prompts([object_id])
        self._prompt_tracker()

    def _reset(self) -> None:
        self.object_id, self.points, self.box, self.mask = None, [], None, None

    def finish(self, label: str | None = None) -> int:
        """Confirm the object being marked (next id, `object<id>` unless named); a correction keeps its label."""
        project = self.project
        project.guard()
        if self.object_id is None or self.mask is None:
            raise ValueError("add a point or a box before finishing an object")
        object_id, frame, store = self.object_id, project.current_frame, project.store
        existing = store.objects()
        label = existing.get(object_id) or label or f"object{object_id}"
        scores = self.host.tracker.object_scores(frame).get(object_id)
        project.history.drop_pending()
        with project.undoable("finish " + label, Region.frames(frame, frame, [object_id])):
            if object_id not in existing:
                store.add_object(label, object_id)
            project.save_mask(frame, object_id, label, self.mask, scores[1] if scores else None, "prompt")
            if scores:
                store.put_presence(frame, {object_id: scores})
            store.add_prompt(frame, object_id, points=[list(p) for p in self.points], box=self.box)
        self._reset()
        project.observers.emit(OBJECT_ADDED, object_id=object_id, label=label, frame=frame)
        return object_id
