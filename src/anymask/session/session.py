"""Session: the annotation workflow a person follows, headless (the GUI and CLI are shells over it)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..annotations import rle
from ..annotations.shapes import Shape
from ..errors import SessionBusyError
from ..formats import dataset_from_store, export_dataset
from ..media import open_source
from ..models.loading import is_model_available, load_model
from ..project import ProjectStore, default_project_folder
from ..project.snapshot import Region, capture
from ..tracking import VideoTracker
from ..vocabulary import DIRECTIONS, OUTPUT_MODES
from . import output, review
from .edits import ShapeEditor
from .events import FRAME_CHANGED, MASK_UPDATED, OBJECT_ADDED, OBJECT_REMOVED, PROJECT_CHANGED, Observers
from .history import CallbackChange, History, StoreChange
from .labels import LabelManager
from .prefetch import Prefetcher
from .tracking import TrackingJob, run_tracking, split_points

__all__ = ["Session", "DIRECTIONS"]


class Session:
    """Open media into its project, mark objects with clicks and boxes, track them, edit, undo, export.

    The model loads lazily on first need. Every confirmed change (a finished object, tracked masks, an
    edit, a relabel) is committed to the project store at once and can be undone. `prefetch=True` computes
    the current and next frame's embeddings in the background (the GUI turns it on).
    """

    def __init__(
        self,
        media_path: str | Path,
        project_folder: str | Path | None = None,
        model: str | Path = "sam2.1-tiny",
        precision: str = "auto",
        device: str = "cpu",
        output_mode: str = "polygon",
        tolerance: float = 1.0,
        keep_manual_shapes: bool = True,
        prefetch: bool = False,
    ) -> None:
        self._check_mode(output_mode)
        self.media_path = Path(media_path)
        self.source = open_source(self.media_path)
        self.store = ProjectStore.open(project_folder or default_project_folder(self.media_path), self.media_path)
        self.model_spec, self.precision, self.device = model, precision, device
        self.output_mode, self.tolerance = output_mode, tolerance
        self.keep_manual_shapes = keep_manual_shapes
        self.observers = Observers()
        self.history = History()
        self.labels = LabelManager(self)
        self.edit = ShapeEditor(self)
        self.current_frame = 0
        self.last_direction = "forward"
        self._lock = threading.RLock()
        self._model = None
        self._tracker: VideoTracker | None = None
        self._tracker_stale = False
        self._job: TrackingJob | None = None
        self._pending_id: int | None = None
        self._points: list[tuple[float, float, int]] = []
        self._box: list[float] | None = None
        self._mask: np.ndarray | None = None
        self._prefetcher = Prefetcher(self) if prefetch else None
        if self._prefetcher:
            self._prefetcher.request(0)

    # lifecycle ----------------------------------------------------------------------------------------
    @property
    def model(self):
        with self._lock:
            if self._model is None:
                self._model = load_model(self.model_spec, device=self.device, precision=self.precision)
            return self._model

    @property
    def model_loaded(self) -> bool:
        return self._model is not None

    @property
    def model_available(self) -> bool:
        """Loaded, or loadable without a download."""
        return self._model is not None or is_model_available(self.model_spec)

    @property
    def tracker(self) -> VideoTracker:
        with self._lock:
            if self._tracker is None:
                self._tracker = VideoTracker(self.model, self.source)
            elif self._tracker_stale:
                self._tracker.reset()  # its prompts no longer match the store: replayed when needed
            self._tracker_stale = False
            return self._tracker

    def set_model(self, model: str | Path, precision: str | None = None, device: str | None = None) -> None:
        """Use another model (loaded on next need); prompts in the project are replayed into it."""
        self._guard()
        with self._lock:
            self.clear_prompts()
            if self._tracker is not None:
                self._tracker.close()
            self._tracker, self._model, self._tracker_stale = None, None, False
            self.model_spec = model
            self.precision = precision or self.precision
            self.device = device or self.device

    def reset_tracker(self) -> None:
        """Forget the tracker's memory (prompts are replayed from the project when next needed)."""
        self._guard()
        self.clear_prompts()
        self._tracker_stale = self._tracker is not None

    def close(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self._job.wait()
        if self._prefetcher is not None:
            self._prefetcher.close()
        with self._lock:
            if self._tracker is not None:
                self._tracker.close()
            self.store.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def subscribe(self, callback: Callable) -> Callable[[], None]:
        return self.observers.subscribe(callback)

    @property
    def busy(self) -> bool:
        """True while tracking runs in the background."""
        return self._job is not None and self._job.running

    def _guard(self) -> None:
        if self.busy:
            raise SessionBusyError("tracking is running: cancel it or wait before changing annotations")

    # navigation ---------------------------------------------------------------------------------------
    def set_frame(self, frame: int) -> None:
        if not 0 <= frame < len(self.source):
            raise ValueError(f"{self.media_path}: frame {frame} is outside the video (0..{len(self.source) - 1})")
        if self._points or self._box:
            self.clear_prompts()
        self.current_frame = frame
        if self._prefetcher is not None:
            self._prefetcher.request(frame)
        self.observers.emit(FRAME_CHANGED, frame=frame)

    def frame_image(self, frame: int | None = None) -> np.ndarray:
        return self.source.frame(self.current_frame if frame is None else frame)

    # marking an object --------------------------------------------------------------------------------
    @property
    def marking(self) -> int | None:
        """The id of the object being marked, if any."""
        return self._pending_id

    @property
    def pending_prompts(self) -> tuple[list[tuple[float, float, int]], list[float] | None, np.ndarray | None]:
        """(points [(x, y, 1|0)], box, mask) of the object being marked."""
        return list(self._points), self._box, self._mask

    def _next_object_id(self) -> int:
        known = set(self.store.objects()) | set(self._tracker.obj_ids if self._tracker else [])
        return max(known, default=-1) + 1

    def mark(self, object_id: int) -> None:
        """Direct the next prompts at `object_id`: a new object with that id, or a correction of an existing one."""
        if self._pending_id is not None and self._pending_id != object_id:
            self.clear_prompts()
        self._pending_id = int(object_id)

    def add_point(self, x: float, y: float, positive: bool = True) -> np.ndarray:
        """Add a click for the object being marked; returns its updated mask on the current frame."""
        return self.add_points([(x, y, positive)])

    def add_points(self, points) -> np.ndarray:
        """Several clicks at once, one model run (a GUI coalesces clicks made while the model was busy)."""
        added = [(float(x), float(y), 1 if positive else 0) for x, y, positive in points]
        if not added:
            raise ValueError("give at least one point")
        count = len(added)
        return self._change_prompts(
            lambda: self._points.extend(added),
            lambda: self._points.__delitem__(slice(-count, None)),
            "add point" if count == 1 else f"add {count} points",
        )

    def add_box(self, x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
        previous = self._box
        box = [float(min(x1, x2)), float(min(y1, y2)), float(max(x1, x2)), float(max(y1, y2))]
        return self._change_prompts(
            lambda: setattr(self, "_box", box), lambda: setattr(self, "_box", previous), "add box"
        )

    def _change_prompts(self, apply: Callable, revert: Callable, description: str) -> np.ndarray:
        self._guard()
        with self._lock:
            if self._pending_id is None:
                self._pending_id = self._next_object_id()
            object_id, frame = self._pending_id, self.current_frame
            if object_id in self.store.objects():
                self._replay_stored_prompts([object_id])  # a correction builds on the object's earlier prompts
            before = self.tracker.prompt_state(frame, object_id)
            previous_mask = self._mask
            apply()
            try:
                mask = self._prompt_tracker()
            except ValueError:
                revert()  # a prompt outside the frame changes nothing
                raise
            after = self.tracker.prompt_state(frame, object_id)

            def undo() -> None:
                revert()
                self.tracker.restore_prompt_state(frame, object_id, before)
                self._show_pending(previous_mask)

            def redo() -> None:
                self._pending_id = object_id
                apply()
                self.tracker.restore_prompt_state(frame, object_id, after)
                self._show_pending(mask)

            self.history.push(CallbackChange(description, undo, redo))
            return mask

    def _prompt_tracker(self) -> np.ndarray:
        points, labels = split_points(self._points)
        if points is None and self._box is None:
            raise ValueError("give a point or a box")
        _, logits = self.tracker.add_prompt(
            self.current_frame, self._pending_id, points=points, labels=labels, box=self._box, only_prompted=True
        )
        self._show_pending(logits[0] > 0)
        return self._mask

    def _show_pending(self, mask: np.ndarray | None) -> None:
        self._mask = mask
        if mask is None and not self._points and self._box is None and self._pending_id not in self.store.objects():
            self._pending_id = None
        self.observers.emit(MASK_UPDATED, frame=self.current_frame, object_id=self._pending_id, mask=mask)

    def clear_prompts(self) -> None:
        """Discard the prompts of the object being marked (a correction's earlier frames are kept)."""
        with self._lock:
            if self._pending_id is not None and self._tracker is not None:
                if self._pending_id in self.store.objects():
                    self._tracker_stale = True  # the correction's click is in the tracker's memory: replay
                else:
                    self._tracker.remove_object(self._pending_id)
            had_prompts = self._pending_id is not None
            self._pending_id, self._points, self._box, self._mask = None, [], None, None
            self.history.drop_pending()
        if had_prompts:
            self.observers.emit(MASK_UPDATED, frame=self.current_frame, object_id=None, mask=None)

    def finish_object(self, label: str | None = None) -> int:
        """Confirm the object being marked (next id, `object<id>` unless named); a correction keeps its label."""
        self._guard()
        if self._pending_id is None or self._mask is None:
            raise ValueError("add a point or a box before finishing an object")
        object_id, frame = self._pending_id, self.current_frame
        existing = self.store.objects()
        label = existing.get(object_id) or label or f"object{object_id}"
        scores = self.tracker.object_scores(frame).get(object_id)
        self.history.drop_pending()
        with self.undoable("finish " + label, Region.frames(frame, frame, [object_id])):
            if object_id not in existing:
                self.store.add_object(label, object_id)
            self.save_mask(frame, object_id, label, self._mask, scores[1] if scores else None, "prompt")
            if scores:
                self.store.put_presence(frame, {object_id: scores})
            self.store.add_prompt(frame, object_id, points=[list(p) for p in self._points], box=self._box)
        self._pending_id, self._points, self._box, self._mask = None, [], None, None
        self.observers.emit(OBJECT_ADDED, object_id=object_id, label=label, frame=frame)
        return object_id

    def remove_object(self, object_id: int) -> None:
        self._guard()
        with self.undoable(f"remove object {object_id}", Region.whole_objects([object_id])):
            self.store.remove_object(object_id)
        if self._tracker is not None:
            self._tracker.remove_object(object_id)
        self.observers.emit(OBJECT_REMOVED, object_id=object_id)

    # output -------------------------------------------------------------------------------------------
    @staticmethod
    def _check_mode(mode: str) -> None:
        if mode not in OUTPUT_MODES:
            raise ValueError(f"output mode must be one of {', '.join(OUTPUT_MODES)}, got {mode!r}")

    def set_output_mode(self, mode: str, tolerance: float | None = None) -> None:
        """Shapes written from now on (and shown) are of this mode; masks are kept as they are."""
        self._check_mode(mode)
        self.output_mode = mode
        self.tolerance = self.tolerance if tolerance is None else float(tolerance)
        self.observers.emit(PROJECT_CHANGED, what="output mode")

    def shape_for(self, object_id: int, label: str, mask: np.ndarray, score=None) -> Shape | None:
        return output.shape_for(self.output_mode, self.tolerance, object_id, label, mask, score)

    def save_mask(
        self, frame: int, object_id: int, label: str, mask: np.ndarray, score, source: str, shape: Shape | None = None
    ) -> None:
        shape = shape or self.shape_for(object_id, label, mask, score)
        self.store.put_mask(frame, object_id, rle.encode(mask), score=score, source=source, shape=shape)

    def shapes(self, frame: int | None = None) -> dict[int, Shape]:
        """The shapes on a frame in the current output mode (what a GUI draws)."""
        return output.frame_shapes(
            self.store, self.current_frame if frame is None else frame, self.output_mode, self.tolerance
        )

    # undo / redo --------------------------------------------------------------------------------------
    @contextmanager
    def undoable(self, description: str, region: Region, atomic: bool = True) -> Iterator[None]:
        """Run a store change as one undoable step (the region says which masks it may touch).

        atomic: all of it commits together or not at all. A tracking run is not atomic: each frame
        commits on its own (a crash or Ctrl+C keeps what was done) and whatever was done is one step.
        """
        with self._lock:
            before = capture(self.store, region)
            if atomic:
                with self.store.transaction():
                    yield
            else:
                try:
                    yield
                finally:
                    self.history.push(StoreChange(description, self.store, before, capture(self.store, region)))
                return
            self.history.push(StoreChange(description, self.store, before, capture(self.store, region)))

    def undo(self) -> str | None:
        """Undo the last change (a click, a finished object, tracking, an edit, a relabel); returns what it was."""
        return self._step(self.history.undo)

    def redo(self) -> str | None:
        return self._step(self.history.redo)

    def _step(self, move: Callable) -> str | None:
        self._guard()
        with self._lock:
            change = move()
            if isinstance(change, StoreChange):
                if change.prompts_changed:
                    self.clear_prompts()
                    self._tracker_stale = self._tracker is not None
                self.observers.emit(PROJECT_CHANGED, what="undo" if move == self.history.undo else "redo")
        return change.description if change else None

    # tracking -----------------------------------------------------------------------------------------
    def track(
        self,
        direction: str | None = None,
        start: int | None = None,
        end: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> list[int]:
        """Track every finished object from `start` (default: the current frame); returns the frames done.

        Each tracked frame is saved at once; an object whose presence score is below zero on a frame is
        absent there (no shape written). `cancel()` returning True stops after the current frame. Prompted
        masks are never overwritten; edited and imported ones neither while `keep_manual_shapes` is on.
        """
        self._guard()
        return run_tracking(self, direction or self.last_direction, start, end, progress, cancel)

    def start_tracking(
        self, direction: str | None = None, start: int | None = None, end: int | None = None
    ) -> TrackingJob:
        """`track` in a background thread; the job can be cancelled (frames done stay saved)."""
        self._guard()
        if not self.store.objects():
            raise ValueError("finish at least one object before tracking")
        self._job = TrackingJob(self, direction or self.last_direction, start, end)
        self._job.start()
        return self._job

    def _replay_stored_prompts(self, only: list[int] | None = None) -> None:
        """Objects finished earlier (a reopened project, an undo) get their stored prompts again, in order."""
        known = set(self.tracker.obj_ids)
        objects = self.store.objects()
        for prompt in self.store.prompts():
            object_id = prompt["object_id"]
            if object_id in objects and object_id not in known and (only is None or object_id in only):
                points, labels = split_points(prompt["points"])
                self.tracker.add_prompt(prompt["frame"], object_id, points=points, labels=labels, box=prompt["box"])

    # review -------------------------------------------------------------------------------------------
    def review_items(self, lost_after: int = 3) -> list[review.ReviewItem]:
        """Frames to look at: where an object was lost, reappeared, or its confidence dropped."""
        return review.review_items(self.store.presence(), lost_after)

    def timeline(self, object_id: int) -> dict[int, str]:
        """frame -> present | low | absent for an object, from what tracking saw."""
        return review.timeline(self.store.presence(object_id))

    # export -------------------------------------------------------------------------------------------
    def export(self, format_name: str, out: str | Path) -> Path:
        return export_dataset(
            dataset_from_store(self.store, self.source),
            format_name,
            out,
            mode=self.output_mode,
            tolerance=self.tolerance,
        )
