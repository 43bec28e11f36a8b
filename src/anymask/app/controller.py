"""AppController: what the window's actions do, over a Session and a ModelWorker (no widgets here)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from ..errors import AnymaskError
from ..session import Session
from .bridge import SessionBridge
from .settings import AppSettings
from .worker import ModelWorker, Task


class AppController(QObject):
    opened = Signal(str)  # media path
    closed = Signal()
    error = Signal(str)  # one line for the person
    status = Signal(str)
    frame_shown = Signal(int)
    pending_changed = Signal()  # the object being marked changed (mask, points, box)
    annotations_changed = Signal()  # objects, masks, labels or shapes in the project changed
    busy_changed = Signal(bool)
    tracking_changed = Signal(bool)  # running or not
    tracking_progress = Signal(int, int, int, float)  # frame, done, total, fps

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
        self._track_started = 0.0

    # opening and closing ------------------------------------------------------------------------------
    def open_media(self, path: str | Path) -> bool:
        self.close_session()
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

    def run(self, name: Task, function) -> None:
        """Any other session call (labels, edits, export...) in order with the clicks."""
        if self._need_session():
            self.worker.submit(name, function)

    def export(self, format_name: str, mode: str, folder: Path) -> None:
        """Write the project as a dataset in the output mode chosen (on the model thread)."""
        if self._need_session():
            session = self.session

            def run():
                if session.output_mode != mode:
                    session.set_output_mode(mode)
                return session.export(format_name, folder)

            self.worker.submit(Task.EXPORT, run)

    def import_annotations(self, format_name: str, path: Path) -> None:
        """Add another tool's annotations to the project as new objects (on the model thread)."""
        if self._need_session():
            session = self.session
            self.worker.submit(Task.IMPORT, lambda: session.import_annotations(format_name, path))

    def undo(self) -> None:
        if self._need_session():
            self.worker.submit(Task.UNDO, self.session.undo)

    def redo(self) -> None:
        if self._need_session():
            self.worker.submit(Task.REDO, self.session.redo)

    # tracking -----------------------------------------------------------------------------------------
    def track(self, direction: str | None = None) -> None:
        if self._need_session():
            session = self.session
            self.worker.submit(Task.TRACK, lambda: session.start_tracking(direction))

    def track_backward(self) -> None:
        self.track("backward")

    def track_both(self) -> None:
        self.track("both")

    def cancel_tracking(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.emit("cancelling: the frame in progress finishes, every tracked frame is kept")

    @property
    def tracking(self) -> bool:
        return self.job is not None and self.job.running

    def _on_tracking_progress(self, frame: int, done: int, total: int) -> None:
        fps = done / max(1e-6, time.perf_counter() - self._track_started)
        if self.session is not None:
            self.session.follow(frame)  # the canvas follows the tracked frames
        self.frame_shown.emit(frame)
        self.tracking_progress.emit(frame, done, total, fps)

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
            self._track_started = time.perf_counter()
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

    # what the canvas draws ----------------------------------------------------------------------------
    def frame_image(self) -> np.ndarray | None:
        if self.session is None:
            return None
        try:
            return self.session.frame_image()
        except AnymaskError as exc:
            self.error.emit(str(exc))
            return None
