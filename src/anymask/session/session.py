"""Session: the annotation workflow a person follows, headless (the GUI and CLI are shells over it)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from ..annotations import rle
from ..formats import dataset_from_store, export_dataset
from ..formats.dataset import OUTPUT_MODES, Instance
from ..loading import load_model
from ..media import open_source
from ..project import ProjectStore, default_project_folder
from ..tracking import VideoTracker
from .events import FRAME_CHANGED, MASK_UPDATED, OBJECT_ADDED, OBJECT_REMOVED, TRACKING_PROGRESS, Observers

DIRECTIONS = ("forward", "backward", "both")


def _split_points(points) -> tuple[list | None, list | None]:
    """[(x, y, label), ...] -> ([[x, y], ...], [label, ...]), None for no points (the tracker's form)."""
    if not points:
        return None, None
    return [[x, y] for x, y, _ in points], [label for _, _, label in points]


class Session:
    """Open media into its project, mark objects with clicks and boxes, track them, export.

    The model loads lazily on first need. Every confirmed change (a finished object, tracked masks) is
    committed to the project store at once.
    """

    def __init__(self, media_path: str | Path, project_folder: str | Path | None = None, model: str | Path = "sam2.1-tiny",
                 precision: str = "fp32", device: str = "cpu", output_mode: str = "polygon", tolerance: float = 1.0) -> None:
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"output mode must be one of {', '.join(OUTPUT_MODES)}, got {output_mode!r}")
        self.media_path = Path(media_path)
        self.source = open_source(self.media_path)
        self.store = ProjectStore.open(project_folder or default_project_folder(self.media_path), self.media_path)
        self.model_spec, self.precision, self.device = model, precision, device
        self.output_mode, self.tolerance = output_mode, tolerance
        self.observers = Observers()
        self.current_frame = 0
        self._model = None
        self._tracker: VideoTracker | None = None
        self._pending_id: int | None = None
        self._points: list[tuple[float, float, int]] = []
        self._box: list[float] | None = None
        self._mask: np.ndarray | None = None

    # lifecycle ----------------------------------------------------------------------------------------
    @property
    def model(self):
        if self._model is None:
            self._model = load_model(self.model_spec, device=self.device, precision=self.precision)
        return self._model

    @property
    def tracker(self) -> VideoTracker:
        if self._tracker is None:
            self._tracker = VideoTracker(self.model, self.source)
        return self._tracker

    def close(self) -> None:
        if self._tracker is not None:
            self._tracker.close()
        self.store.close()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def subscribe(self, callback: Callable) -> Callable[[], None]:
        return self.observers.subscribe(callback)

    # navigation ---------------------------------------------------------------------------------------
    def set_frame(self, frame: int) -> None:
        if not 0 <= frame < len(self.source):
            raise ValueError(f"{self.media_path}: frame {frame} is outside the video (0..{len(self.source) - 1})")
        if self._points or self._box:
            self.clear_prompts()
        self.current_frame = frame
        self.observers.emit(FRAME_CHANGED, frame=frame)

    # marking an object --------------------------------------------------------------------------------
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
        self._points.append((float(x), float(y), 1 if positive else 0))
        return self._update_mask(lambda: self._points.pop())

    def add_box(self, x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
        previous = self._box
        self._box = [float(min(x1, x2)), float(min(y1, y2)), float(max(x1, x2)), float(max(y1, y2))]
        return self._update_mask(lambda: setattr(self, "_box", previous))

    def _update_mask(self, undo: Callable) -> np.ndarray:
        if self._pending_id is None:
            self._pending_id = self._next_object_id()
        points, labels = _split_points(self._points)
        try:
            _, logits = self.tracker.add_prompt(self.current_frame, self._pending_id, points=points, labels=labels, box=self._box)
        except ValueError:
            undo()  # a prompt outside the frame changes nothing
            raise
        index = self.tracker.obj_ids.index(self._pending_id)
        self._mask = logits[index] > 0
        self.observers.emit(MASK_UPDATED, frame=self.current_frame, object_id=self._pending_id, mask=self._mask)
        return self._mask

    def clear_prompts(self) -> None:
        """Discard the prompts of the object being marked."""
        if self._pending_id is not None and self._tracker is not None:
            self._tracker.remove_object(self._pending_id)
        self._pending_id, self._points, self._box, self._mask = None, [], None, None

    def finish_object(self, label: str | None = None) -> int:
        """Confirm the object being marked (next id, `object<id>` unless named); a correction keeps its label."""
        if self._pending_id is None or self._mask is None:
            raise ValueError("add a point or a box before finishing an object")
        object_id = self._pending_id
        label = label or f"object{object_id}"
        scores = self.tracker.object_scores(self.current_frame).get(object_id)
        existing = self.store.objects()
        label = existing.get(object_id, label)
        with self.store.transaction():
            if object_id not in existing:
                self.store.add_object(label, object_id)
            self._save_mask(self.current_frame, object_id, label, self._mask, scores[1] if scores else None, "prompt")
            self.store.add_prompt(self.current_frame, object_id, points=[list(p) for p in self._points], box=self._box)
        self._pending_id, self._points, self._box, self._mask = None, [], None, None
        self.observers.emit(OBJECT_ADDED, object_id=object_id, label=label, frame=self.current_frame)
        return object_id

    def remove_object(self, object_id: int) -> None:
        self.store.remove_object(object_id)
        if self._tracker is not None:
            self._tracker.remove_object(object_id)
        self.observers.emit(OBJECT_REMOVED, object_id=object_id)

    @property
    def _shape_mode(self) -> str:
        """The shape written for the output mode: masks are kept as RLE and shown as polygons."""
        return "polygon" if self.output_mode == "mask" else self.output_mode

    def _save_mask(self, frame: int, object_id: int, label: str, mask: np.ndarray, score, source: str) -> None:
        encoded = rle.encode(mask)
        shapes = Instance(object_id, label, encoded, score).shapes(self._shape_mode, self.tolerance)
        self.store.put_mask(frame, object_id, encoded, score=score, source=source, shape=shapes[0] if shapes else None)

    # tracking -----------------------------------------------------------------------------------------
    def track(self, direction: str = "forward", start: int | None = None, end: int | None = None,
              progress: Callable[[int, int], None] | None = None, cancel: Callable[[], bool] | None = None) -> list[int]:
        """Track every finished object from `start` (default: the current frame); returns the frames done.

        Each tracked frame is saved at once; an object whose presence score is below zero on a frame is
        absent there (no shape written). `cancel()` returning True stops after the current frame.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
        if self._pending_id is not None:
            self.clear_prompts()
        objects = self.store.objects()
        if not objects:
            raise ValueError("finish at least one object before tracking")
        self._replay_stored_prompts(objects)
        start = self.current_frame if start is None else start
        done: list[int] = []
        passes = [False, True] if direction == "both" else [direction == "backward"]
        for reverse in passes:
            limit = (start - (end if end is not None else 0)) if reverse else ((end if end is not None else len(self.source) - 1) - start)
            for frame, obj_ids, logits in self.tracker.propagate(start_frame=start, reverse=reverse, max_frames=max(0, limit)):
                self._store_tracked(frame, obj_ids, logits, objects)
                done.append(frame)
                self.observers.emit(TRACKING_PROGRESS, frame=frame, done=len(done))
                if progress is not None:
                    progress(frame, len(done))
                if cancel is not None and cancel():
                    return done
        return done

    def _replay_stored_prompts(self, objects: dict[int, str]) -> None:
        """Objects finished in an earlier run (a reopened project) get their stored prompts again."""
        known = set(self.tracker.obj_ids)
        for prompt in self.store.prompts():
            if prompt["object_id"] in objects and prompt["object_id"] not in known:
                points, labels = _split_points(prompt["points"])
                self.tracker.add_prompt(prompt["frame"], prompt["object_id"], points=points, labels=labels, box=prompt["box"])

    def _store_tracked(self, frame: int, obj_ids: list[int], logits: np.ndarray, objects: dict[int, str]) -> None:
        scores = self.tracker.object_scores(frame)
        prompted = {o for o, source in self.store.mask_sources(frame).items() if source in ("prompt", "edited")}
        with self.store.transaction():
            for index, object_id in enumerate(obj_ids):
                if object_id not in objects or object_id in prompted:
                    continue  # a person's own mask is never overwritten by tracking
                presence, iou = scores.get(object_id, (-1.0, 0.0))
                mask = logits[index] > 0
                if presence < 0 or not mask.any():
                    self.store.delete_mask(frame, object_id)  # absent here: no shape written
                else:
                    self._save_mask(frame, object_id, objects[object_id], mask, iou, "tracked")

    # export -------------------------------------------------------------------------------------------
    def export(self, format_name: str, out: str | Path) -> Path:
        return export_dataset(dataset_from_store(self.store, self.source), format_name, out, mode=self._shape_mode,
                              tolerance=self.tolerance)
