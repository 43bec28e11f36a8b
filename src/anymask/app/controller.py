"""AppController: what the window's actions do, over a Session and a ModelWorker (no widgets here)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from ..errors import AnymaskError
from ..media.folder import looks_like_sequence
from ..session import Session
from . import project_view
from .bridge import SessionBridge
from .project_actions import ProjectActions
from .settings import AppSettings
from .worker import ModelWorker, Task

ETA_SMOOTHING = 0.2  # weight of the newest frame's time in the running mean of seconds per frame


def human_duration(seconds: float) -> str:
    """'40 s', '3 min', '1 h 20 min': what a person reads at a glance."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


class AppController(ProjectActions, QObject):
    opened = Signal(str)  # media path
    closed = Signal()
    error = Signal(str)  # one line for the person
    status = Signal(str)
    frame_shown = Signal(int)
    pending_changed = Signal()  # the object being marked changed (mask, points, box)
    annotations_changed = Signal()  # objects, masks, labels or shapes in the project changed
    busy_changed = Signal(bool)
    tracking_changed = Signal(bool)  # running or not
    tracking_progress = Signal(int, int, int, float, str)  # frame, done, total, frames per second, time left
    export_progress = Signal(int, int)  # frames written, total

    def __init__(self, settings: AppSettings) -> None:
        super().__init__()
        self.settings = settings
        self.session: Session | None = None
        self.bridge: SessionBridge | None = None
        self.worker = ModelWorker()
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.busy_changed.connect(self.busy_changed)
        self.positive = True
        self.edit_mode = False
        self.job = None
        self._last_frame_time = 0.0
        self._seconds_per_frame: float | None = None
        self._followed: int | None = None  # the frame tracking last showed; the view follows while it stays there
        self._images_mode: bool | None = None

    # opening and closing ------------------------------------------------------------------------------
    def open_media(self, path: str | Path) -> bool:
        self.close_session()
        self._images_mode = None
        model = self.settings.model()
        try:
            session = Session(
                path,
                model=model["spec"],
                precision=model["precision"],
                device=model["device"],
                output_mode=self.settings.value("output_mode", "polygon"),
                tolerance=float(self.settings.value("tolerance", 1.0)),
                prefetch=True,
            )
        except (AnymaskError, OSError, ValueError) as exc:
            self.error.emit(str(exc))
            return False
        self.session = session
        self.bridge = SessionBridge(session)
        self.bridge.frame_changed.connect(self.frame_shown)
        self.bridge.mask_updated.connect(lambda _mask: self.pending_changed.emit())
        self.bridge.objects_changed.connect(self.annotations_changed)
        self.bridge.project_changed.connect(self.annotations_changed)
        self.bridge.tracking_started.connect(lambda total: self.tracking_changed.emit(True))
        self.bridge.tracking_progress.connect(self._on_tracking_progress)
        self.bridge.tracking_finished.connect(self._on_tracking_finished)
        self.settings.add_recent(str(Path(path).resolve()))
        self.opened.emit(str(path))
        self.set_frame(min(self.settings.last_frame(str(Path(path).resolve())), len(session.source) - 1))
        self.annotations_changed.emit()
        return True

    def close_session(self) -> None:
        if self.session is None:
            return
        if self.job is not None:
            self.job.cancel()
        self.worker.wait_idle()
        self.settings.set_last_frame(str(self.session.media_path.resolve()), self.session.current_frame)
        self.bridge.detach()
        self.session.close()
        self.session, self.bridge, self.job = None, None, None
        self.closed.emit()

    def shutdown(self) -> None:
        self.close_session()
        self.worker.close()

    # navigation ---------------------------------------------------------------------------------------
    @property
    def frame(self) -> int:
        return self.session.current_frame if self.session else 0

    @property
    def frame_count(self) -> int:
        return len(self.session.source) if self.session else 0

    def set_frame(self, frame: int) -> None:
        if self.session is None or not 0 <= frame < self.frame_count:
            return
        session = self.session
        if self.unfinished_object:
            self.status.emit(
                f"object {self.marking} was not finished: its prompts are cleared (Ctrl+Z brings them back)"
            )
        if session.marking is not None or self.worker.busy:
            self.worker.submit(Task.FRAME, lambda: session.set_frame(frame))  # after the clicks queued for this frame
        else:
            session.set_frame(frame)

    def step(self, delta: int) -> None:
        self.set_frame(max(0, min(self.frame_count - 1, self.frame + delta)))

    def previous_frame(self) -> None:
        self.step(-1)

    def next_frame(self) -> None:
        self.step(1)

    def back_ten(self) -> None:
        self.step(-10)

    def forward_ten(self) -> None:
        self.step(10)

    def keyframes(self) -> list[int]:
        """Frames with prompts (any object), in order."""
        if self.session is None:
            return []
        store = self.session.store
        objects = store.objects()
        return sorted(
            {p["frame"] for p in store.prompts() if p["object_id"] in objects}
        )  # one query, not one per object

    def previous_keyframe(self) -> None:
        earlier = [f for f in self.keyframes() if f < self.frame]
        if earlier:
            self.set_frame(earlier[-1])
        else:
            self.status.emit("no prompted frame before this one")

    def next_keyframe(self) -> None:
        later = [f for f in self.keyframes() if f > self.frame]
        if later:
            self.set_frame(later[0])
        else:
            self.status.emit("no prompted frame after this one")

    # marking ------------------------------------------------------------------------------------------
    def _need_session(self) -> bool:
        if self.session is None:
            self.error.emit("open a video or a folder first (Ctrl+O, Ctrl+U)")
            return False
        return True

    def click(self, x: float, y: float, positive: bool | None = None) -> None:
        if self._need_session():
            self.worker.submit_click(self.session, x, y, self.positive if positive is None else positive)

    def box(self, x1: float, y1: float, x2: float, y2: float) -> None:
        if self._need_session():
            session = self.session
            self.worker.submit(Task.BOX, lambda: session.add_box(x1, y1, x2, y2))

    def finish(self, label: str | None = None) -> None:
        if self._need_session():
            session = self.session
            self.worker.submit(Task.FINISH, lambda: session.finish_object(label))

    def clear(self) -> None:
        if self._need_session():
            self.worker.submit(Task.CLEAR, self.session.clear_prompts)

    def mark(self, object_id: int) -> None:
        """Correct an existing object: the next clicks on this frame go to it."""
        if self._need_session():
            session = self.session
            self.worker.submit(Task.MARK, lambda: session.mark(object_id))
            self.status.emit(f"correcting object {object_id}: click on the frame, F confirms, B cancels")

    @property
    def pending_prompts(self) -> tuple:
        """(points, box, mask) of the object being marked."""
        return self.session.pending_prompts if self.session is not None else ([], None, None)

    @property
    def fps(self) -> float:
        """The video's frame rate (25 when it does not say), for playback."""
        return float(getattr(self.session.source, "fps", 25.0) or 25.0) if self.session is not None else 25.0

    @property
    def marking(self) -> int | None:
        """The object being marked (a new one or one being corrected), or None."""
        return self.session.marking if self.session is not None else None

    def object_label(self, object_id: int) -> str | None:
        """An object's class, or None if it is not saved (a new object still being marked)."""
        return self.session.store.objects().get(object_id) if self.session is not None else None

    @property
    def model_available(self) -> bool:
        return self.session is None or self.session.model_available

    @property
    def model_loaded(self) -> bool:
        return self.session is not None and self.session.host.model_loaded

    @property
    def media_path(self) -> Path:
        return self.session.media_path

    @property
    def export_folder(self) -> Path:
        return self.session.store.folder.parent / f"{self.session.media_path.name}.export"

    @property
    def unfinished_object(self) -> bool:
        """True while an object has prompts that F has not confirmed yet (lost if dropped)."""
        if self.session is None or self.session.marking is None:
            return False
        points, box, _ = self.session.pending_prompts
        return bool(points) or box is not None

    def undo(self) -> None:
        if self._need_session():
            self.worker.submit(Task.UNDO, self.session.undo)

    def redo(self) -> None:
        if self._need_session():
            self.worker.submit(Task.REDO, self.session.redo)

    # tracking -----------------------------------------------------------------------------------------
    def track(self, direction: str | None = None, start: int | None = None, end: int | None = None) -> None:
        """Track every object from the current frame (or `start`) to the end (or `end`)."""
        if self._need_session() and self.images_mode:
            self.error.emit(
                "this folder holds separate images, each annotated on its own; to track through it as a video, "
                "use View > Track through this folder"
            )
        elif self._need_session():
            session = self.session
            self.worker.submit(Task.TRACK, lambda: session.start_tracking(direction, start, end))

    def track_backward(self) -> None:
        self.track("backward")

    def track_both(self) -> None:
        self.track("both")

    def track_next(self, count: int) -> None:
        """Track from the current frame through the next `count` frames (a correction re-tracks only those)."""
        self.track("forward", self.frame, min(self.frame_count - 1, self.frame + count))

    def track_to(self, frame: int) -> None:
        """Track from the current frame to `frame`, forward or backward."""
        self.track("forward" if frame >= self.frame else "backward", self.frame, frame)

    def cancel_tracking(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.emit("cancelling: the frame in progress finishes, every tracked frame is kept")

    @property
    def tracking(self) -> bool:
        return self.job is not None and self.job.running

    def _on_tracking_progress(self, frame: int, done: int, total: int) -> None:
        now = time.perf_counter()
        took, self._last_frame_time = now - self._last_frame_time, now
        mean = self._seconds_per_frame
        self._seconds_per_frame = took if mean is None else (1 - ETA_SMOOTHING) * mean + ETA_SMOOTHING * took
        left = human_duration(self._seconds_per_frame * (total - done))
        if self.session is not None and self.session.current_frame == self._followed:
            self.session.follow(frame)  # the view follows the tracked frames unless the person went elsewhere
            self._followed = frame
            self.frame_shown.emit(frame)
        self.tracking_progress.emit(frame, done, total, 1.0 / max(1e-6, self._seconds_per_frame), left)

    def _on_tracking_finished(self, data: dict) -> None:
        self.tracking_changed.emit(False)
        self.annotations_changed.emit()
        frames = len(data["frames"])
        if data["error"]:
            self.error.emit(f"tracking stopped: {data['error']} ({frames} frames saved)")
        elif data["cancelled"]:
            self.status.emit(f"tracking cancelled; {frames} frames saved")
        else:
            self.status.emit(f"tracked {frames} frames; all saved")

    # worker results -----------------------------------------------------------------------------------
    def _on_finished(self, name: str, result) -> None:
        if name == Task.TRACK:
            self.job = result
            self._last_frame_time, self._seconds_per_frame = time.perf_counter(), None
            self._followed = self.frame
        elif isinstance(result, str) and name in (Task.EDIT, Task.LABELS, Task.MODEL):
            self.status.emit(result)
        elif name == Task.CLEAR:
            self.status.emit("prompts cleared (Ctrl+Z brings them back)")
        elif name == Task.FINISH:
            self.status.emit(f"object {result} saved")
        elif name in (Task.UNDO, Task.REDO):
            self.status.emit(f"{name}: {result}" if result else f"nothing to {name}")
        elif name == Task.EXPORT:
            self.status.emit(f"exported to {result}")
        elif name == Task.IMPORT:
            self.status.emit(f"imported {result}")
        self.pending_changed.emit()
        if name not in (Task.CLICK, Task.BOX, Task.MARK):
            self.annotations_changed.emit()

    def _on_failed(self, name: str, message: str) -> None:
        self.error.emit(message)
        self.pending_changed.emit()

    # what the window shows ----------------------------------------------------------------------------
    def frame_view(self, hidden: set[int]) -> tuple[np.ndarray | None, list]:
        """The current frame's picture and its object layers, read together (they always match)."""
        if self.session is None:
            return None, []
        frame = self.frame
        try:
            image = self.session.frame_image(frame)
        except AnymaskError as exc:
            self.error.emit(str(exc))
            image = None
        return image, project_view.frame_layers(self.session, frame, hidden)

    def frame_layers(self, hidden: set[int]) -> list:
        """The current frame's object layers alone (the picture is unchanged: visibility or masks changed)."""
        return project_view.frame_layers(self.session, self.frame, hidden) if self.session is not None else []

    def object_rows(self, hidden: set[int]) -> list[tuple]:
        return project_view.object_rows(self.session, hidden) if self.session is not None else []

    def timeline_rows(self) -> list[tuple]:
        return project_view.timeline_rows(self.session) if self.session is not None else []

    def review_items(self) -> tuple[list, dict[int, str]]:
        if self.session is None:
            return [], {}
        return self.session.review_items(), self.session.store.objects()

    def shapes(self) -> dict:
        return self.session.shapes(self.frame) if self.session is not None else {}

    # image folders: separate images or the frames of a video ------------------------------------------
    @property
    def images_mode(self) -> bool:
        """True for a folder of separate images (not numbered frames): each is annotated on its own and
        nothing is tracked across them. View > "Track through this folder" turns a folder into a video."""
        files = getattr(self.session.source, "files", None) if self.session is not None else None
        if files is None:
            return False
        if self._images_mode is None:  # decided once per opening: the title asks on every frame
            chosen = self.settings.value(self._folder_key(), "")
            self._images_mode = chosen == "images" if chosen else not looks_like_sequence(files)
        return self._images_mode

    def set_images_mode(self, images: bool) -> None:
        if self.session is not None:
            self.settings.set_value(self._folder_key(), "images" if images else "video")
            self._images_mode = images
            self.annotations_changed.emit()

    def _folder_key(self) -> str:
        return "folder_mode/" + hashlib.sha1(str(self.session.media_path.resolve()).encode()).hexdigest()[:16]

    def file_rows(self) -> tuple[list[str], dict[int, int]]:
        """The folder's file names and the number of objects on each image."""
        if self.session is None:
            return [], {}
        source, store = self.session.source, self.session.store
        return [source.frame_name(i) for i in range(len(source))], store.masks_per_frame()
