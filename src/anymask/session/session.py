"""Session: the annotation workflow a person follows, headless (the GUI and CLI are shells over it)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

from ..annotations.shapes import Shape
from ..errors import ProjectError
from ..formats import ImportReport, dataset_from_store, export_dataset, import_into
from ..media import open_source
from ..project import ProjectStore, default_project_folder
from ..project.snapshot import Region
from ..tracking import VideoTracker
from ..vocabulary import DIRECTIONS
from . import review
from .edits import ShapeEditor
from .events import FRAME_CHANGED, OBJECT_REMOVED, PROJECT_CHANGED
from .history import StoreChange
from .labels import LabelManager
from .marking import Marking
from .model_host import ModelHost
from .prefetch import Prefetcher
from .project import AnnotatedProject, check_project_media
from .runs import TrackingJob, run_tracking

__all__ = ["Session", "DIRECTIONS"]


class Session:
    """Open media into its project, mark objects with clicks and boxes, track them, edit, undo, export.

    A facade over its parts: the project (store, undo history, lock, events: `AnnotatedProject`), the
    model and tracker (`ModelHost`), the object being marked (`Marking`), the label manager (`labels`)
    and edit mode (`edit`). The model loads lazily on first need. Every confirmed change is committed to
    the project store at once and can be undone. `prefetch=True` computes the current and next frame's
    embeddings in the background (the GUI turns it on).
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
        step_mode: str = "eager",
    ) -> None:
        media_path = Path(media_path)
        source = open_source(media_path)
        store = ProjectStore.open(project_folder or default_project_folder(media_path), media_path)
        try:
            check_project_media(store, media_path, source)
            self.project = AnnotatedProject(media_path, source, store, output_mode, tolerance, keep_manual_shapes)
        except (ValueError, ProjectError):
            store.close()
            raise
        self.host = ModelHost(self.project, model, precision, device, step_mode)
        self._marking = Marking(self.project, self.host)
        self.labels = LabelManager(self.project, self.host)
        self.edit = ShapeEditor(self.project)
        self._prefetcher = Prefetcher(self.project, self.host) if prefetch else None
        if self._prefetcher:
            self._prefetcher.request(0)

    # the parts' state, as attributes of the session ---------------------------------------------------
    media_path = property(lambda self: self.project.media_path)
    source = property(lambda self: self.project.source)
    store = property(lambda self: self.project.store)
    observers = property(lambda self: self.project.observers)
    history = property(lambda self: self.project.history)
    output_mode = property(lambda self: self.project.output_mode)
    tolerance = property(lambda self: self.project.tolerance)
    current_frame = property(lambda self: self.project.current_frame)
    last_direction = property(lambda self: self.project.last_direction)
    model_spec = property(lambda self: self.host.model_spec)
    precision = property(lambda self: self.host.precision)
    device = property(lambda self: self.host.device)
    model = property(lambda self: self.host.model)
    model_loaded = property(lambda self: self.host.model_loaded)
    model_available = property(lambda self: self.host.model_available, doc="Loaded, or loadable without a download.")

    @property
    def keep_manual_shapes(self) -> bool:
        return self.project.keep_manual_shapes

    @keep_manual_shapes.setter
    def keep_manual_shapes(self, keep: bool) -> None:
        self.project.keep_manual_shapes = bool(keep)

    @property
    def tracker(self) -> VideoTracker:
        return self.host.tracker

    @property
    def busy(self) -> bool:
        """True while tracking runs in the background."""
        return self.project.busy

    # lifecycle ----------------------------------------------------------------------------------------
    def set_model(self, model: str | Path, precision: str | None = None, device: str | None = None) -> None:
        """Use another model (loaded on next need); prompts in the project are replayed into it."""
        self.project.guard()
        with self.project.lock:
            self._marking.clear()
            self.host.set_model(model, precision, device)

    def reset_tracker(self) -> None:
        """Forget the tracker's memory (prompts are replayed from the project when next needed)."""
        self.project.guard()
        self._marking.clear()
        self.host.mark_stale()

    def close(self) -> None:
        job = self.project.job
        if job is not None:
            job.cancel()
            job.wait()
        if self._prefetcher is not None:
            self._prefetcher.close()
        with self.project.lock:
            self.host.close()
            self.store.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def subscribe(self, callback: Callable) -> Callable[[], None]:
        return self.observers.subscribe(callback)

    # navigation ---------------------------------------------------------------------------------------
    def set_frame(self, frame: int) -> None:
        if not 0 <= frame < len(self.source):
            raise ValueError(f"{self.media_path}: frame {frame} is outside the video (0..{len(self.source) - 1})")
        if self._marking.active:
            self._marking.clear()
        self.project.current_frame = frame
        if self._prefetcher is not None:
            self._prefetcher.request(frame)
        self.observers.emit(FRAME_CHANGED, frame=frame)

    def follow(self, frame: int) -> None:
        """Make `frame` current without set_frame's events and prefetch (a GUI following a tracking run)."""
        self.project.current_frame = frame

    @property
    def prefetch_error(self) -> str | None:
        """The last background embedding's error, if any (the click that needs it reports it again)."""
        return self._prefetcher.error if self._prefetcher is not None else None

    def frame_image(self, frame: int | None = None) -> np.ndarray:
        return self.source.frame(self.current_frame if frame is None else frame)

    # marking an object --------------------------------------------------------------------------------
    @property
    def marking(self) -> int | None:
        """The id of the object being marked, if any."""
        return self._marking.object_id

    @property
    def pending_prompts(self) -> tuple[list[tuple[float, float, int]], list[float] | None, np.ndarray | None]:
        """(points [(x, y, 1|0)], box, mask) of the object being marked."""
        return list(self._marking.points), self._marking.box, self._marking.mask

    def mark(self, object_id: int) -> None:
        """Direct the next prompts at `object_id`: a new object with that id, or a correction of an existing one."""
        self._marking.mark(object_id)

    def add_point(self, x: float, y: float, positive: bool = True) -> np.ndarray:
        """Add a click for the object being marked; returns its updated mask on the current frame."""
        return self._marking.add_points([(x, y, positive)])

    def add_points(self, points) -> np.ndarray:
        """Several clicks at once, one model run (a GUI coalesces clicks made while the model was busy)."""
        return self._marking.add_points(points)

    def add_box(self, x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
        return self._marking.add_box(x1, y1, x2, y2)

    def clear_prompts(self) -> None:
        """Discard the prompts of the object being marked (a correction's earlier frames are kept)."""
        self._marking.clear()

    def finish_object(self, label: str | None = None) -> int:
        """Confirm the object being marked (next id, `object<id>` unless named); a correction keeps its label."""
        return self._marking.finish(label)

    def remove_object(self, object_id: int) -> None:
        self.project.guard()
        with self.undoable(f"remove object {object_id}", Region.whole_objects([object_id])):
            self.store.remove_object(object_id)
        self.host.forget_object(object_id)
        self.observers.emit(OBJECT_REMOVED, object_id=object_id)

    # output -------------------------------------------------------------------------------------------
    def set_output_mode(self, mode: str, tolerance: float | None = None) -> None:
        """Shapes written from now on (and shown) are of this mode; masks are kept as they are."""
        self.project.set_output_mode(mode, tolerance)

    def shape_for(self, object_id: int, label: str, mask: np.ndarray, score=None) -> Shape | None:
        return self.project.shape_for(object_id, label, mask, score)

    def save_mask(
        self, frame: int, object_id: int, label: str, mask: np.ndarray, score, source: str, shape: Shape | None = None
    ) -> None:
        self.project.save_mask(frame, object_id, label, mask, score, source, shape)

    def shapes(self, frame: int | None = None) -> dict[int, Shape]:
        """The shapes on a frame in the current output mode (what a GUI draws)."""
        return self.project.shapes(frame)

    # undo / redo --------------------------------------------------------------------------------------
    def undoable(self, description: str, region: Region, atomic: bool = True) -> AbstractContextManager[None]:
        """A store change as one undoable step (see AnnotatedProject.undoable)."""
        return self.project.undoable(description, region, atomic)

    def undo(self) -> str | None:
        """Undo the last change (a click, a finished object, tracking, an edit, a relabel); returns what it was."""
        return self._step(self.history.undo, "undo")

    def redo(self) -> str | None:
        return self._step(self.history.redo, "redo")

    def _step(self, move: Callable, what: str) -> str | None:
        self.project.guard()
        with self.project.lock:
            change = move()
            if isinstance(change, StoreChange):
                if change.prompts_changed:
                    self._marking.clear()
                    self.host.mark_stale()
                self.observers.emit(PROJECT_CHANGED, what=what)
        return change.description if change else None

    # tracking -----------------------------------------------------------------------------------------
    def track(
        self,
        direction: str | None = None,
        start: int | None = None,
        end: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
        resume: bool = False,
    ) -> list[int]:
        """Track every finished object from `start` (default: the current frame); returns the frames done.

        Each tracked frame is saved at once; an object whose presence score is below zero on a frame is
        absent there (no shape written). `cancel()` returning True stops after the current frame. Prompted
        masks are never overwritten; edited and imported ones neither while `keep_manual_shapes` is on.
        `resume=True` continues an interrupted run of the same stretch: frames it saved are not tracked
        again (see runs.resume_passes).
        """
        self.project.guard()
        direction = direction or self.last_direction
        return run_tracking(
            self.project, self.host, self._marking, direction, start, end, progress, cancel, resume=resume
        )

    def start_tracking(
        self, direction: str | None = None, start: int | None = None, end: int | None = None
    ) -> TrackingJob:
        """`track` in a background thread; the job can be cancelled (frames done stay saved)."""
        self.project.guard()
        if not self.store.objects():
            raise ValueError("finish at least one object before tracking")
        direction = direction or self.last_direction
        job = self.project.job = TrackingJob(self.project, self.host, self._marking, direction, start, end)
        job.start()
        return job

    # review -------------------------------------------------------------------------------------------
    def review_items(self, lost_after: int = 3) -> list[review.ReviewItem]:
        """Frames to look at: where an object was lost, reappeared, or its confidence dropped."""
        return review.review_items(self.store.presence(), lost_after)

    def timeline(self, object_id: int) -> dict[int, str]:
        """frame -> present | low | absent for an object, from what tracking saw."""
        return review.timeline(self.store.presence(object_id))

    # import and export --------------------------------------------------------------------------------
    def import_annotations(self, format_name: str, path: str | Path) -> ImportReport:
        """Add a dataset's annotations (formats.IMPORT_FORMATS) over this video's frames as new objects.
        A bad file raises AnnotationFormatError naming it, and nothing is stored."""
        self.project.guard()
        report = import_into(self.store, self.source, format_name, path)
        self.observers.emit(PROJECT_CHANGED, what="import")
        return report

    def export(
        self,
        format_name: str,
        out: str | Path,
        progress: Callable[[int, int], None] | None = None,
        val: float = 0.2,
        empty_frames: bool = False,
    ) -> Path:
        """Write the project as a dataset; `progress(frames written, total)` after each frame; `val`: the
        share of annotated frames YOLO holds out for validation, as one block at the end."""
        return export_dataset(
            dataset_from_store(self.store, self.source),
            format_name,
            out,
            mode=self.output_mode,
            tolerance=self.tolerance,
            progress=progress,
            val=val,
            empty_frames=empty_frames,
        )
