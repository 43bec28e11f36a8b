"""ModelHost: the model (loaded on first need) and the tracker over the project's video, prompts replayed."""

from __future__ import annotations

from pathlib import Path

from ..models.loading import is_model_available, load_model
from ..tracking import VideoTracker
from .project import AnnotatedProject

SESSION_FRAME_CACHE_BYTES = 64 * 1024 * 1024  # decoded frames kept while tracking and browsing: bounded


def split_points(points) -> tuple[list | None, list | None]:
    """[(x, y, label), ...] -> ([[x, y], ...], [label, ...]), None for no points (the tracker's form)."""
    if not points:
        return None, None
    return [[x, y] for x, y, _ in points], [label for _, _, label in points]


class ModelHost:
    """Owns the model and the tracker. `mark_stale()` after the stored prompts changed (undo, a cleared
    correction): the tracker forgets, and objects get their stored prompts again when next needed."""

    def __init__(
        self, project: AnnotatedProject, model_spec, precision: str, device: str, step_mode: str = "eager"
    ) -> None:
        """model_spec: a model name, a checkpoint file, or a model already loaded (a batch worker reuses one);
        step_mode: the tracker's (VideoTracker's StepMode value)."""
        self.project = project
        self.precision, self.device, self.step_mode = precision, device, step_mode
        self.model_spec, self._model = _adopt(model_spec)
        self._tracker: VideoTracker | None = None
        self._stale = False

    @property
    def model(self):
        with self.project.lock:
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
        with self.project.lock:
            if self._tracker is None:
                source = self.project.source
                source.cache.max_bytes = min(source.cache.max_bytes, SESSION_FRAME_CACHE_BYTES)
                self._tracker = VideoTracker(
                    self.model, source, spill_parent=self.project.store.folder / "cache", step_mode=self.step_mode
                )
            elif self._stale:
                self._tracker.reset()  # its prompts no longer match the store: replayed when needed
            self._stale = False
            return self._tracker

    @property
    def tracked_ids(self) -> list[int]:
        """Objects the tracker holds now (without creating it)."""
        return self._tracker.obj_ids if self._tracker is not None else []

    @property
    def embedded_frames(self) -> list[int]:
        """Frames whose embedding the tracker holds (without creating the tracker)."""
        return self._tracker.embedded_frames if self._tracker is not None else []

    def mark_stale(self) -> None:
        self._stale = self._tracker is not None

    def forget_object(self, object_id: int) -> None:
        if self._tracker is not None:
            self._tracker.remove_object(object_id)

    def replay_stored_prompts(self, only: list[int] | None = None) -> None:
        """Objects finished earlier (a reopened project, an undo) get their stored prompts again, in order."""
        store = self.project.store
        known = set(self.tracker.obj_ids)
        objects = store.objects()
        for prompt in store.prompts():
            object_id = prompt["object_id"]
            if object_id in objects and object_id not in known and (only is None or object_id in only):
                points, labels = split_points(prompt["points"])
                self.tracker.add_prompt(prompt["frame"], object_id, points=points, labels=labels, box=prompt["box"])

    def set_model(self, model: str | Path, precision: str | None = None, device: str | None = None) -> None:
        """Use another model (loaded on next need)."""
        with self.project.lock:
            self.close()
            self._tracker, self._stale = None, False
            self.model_spec, self._model = _adopt(model)
            self.precision = precision or self.precision
            self.device = device or self.device

    def close(self) -> None:
        if self._tracker is not None:
            self._tracker.close()


def _adopt(model_spec) -> tuple[str | Path, object | None]:
    """(the spec, the model if one was given already loaded)."""
    if isinstance(model_spec, (str, Path)):
        return model_spec, None
    return getattr(model_spec, "checkpoint_path", type(model_spec).__name__), model_spec
