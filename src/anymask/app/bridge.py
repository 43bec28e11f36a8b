"""SessionBridge: session events (from any thread) as Qt signals delivered in the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ..session import Event, Session


class SessionBridge(QObject):
    frame_changed = Signal(int)
    mask_updated = Signal(object)  # the mask of the object being marked, or None
    objects_changed = Signal()
    project_changed = Signal()
    tracking_started = Signal(int)  # frames to do
    tracking_progress = Signal(int, int, int)  # frame, done, total
    tracking_finished = Signal(object)  # {"frames", "cancelled", "error"}

    def __init__(self, session: Session) -> None:
        super().__init__()
        self._unsubscribe = session.subscribe(self._on_event)

    def detach(self) -> None:
        self._unsubscribe()

    def _on_event(self, event: Event) -> None:  # may run in the tracking thread: signals queue to the GUI
        data = event.data
        if event.kind == "frame_changed":
            self.frame_changed.emit(data["frame"])
        elif event.kind == "mask_updated":
            self.mask_updated.emit(data["mask"])
        elif event.kind in ("object_added", "object_removed"):
            self.objects_changed.emit()
        elif event.kind == "project_changed":
            self.project_changed.emit()
        elif event.kind == "tracking_started":
            self.tracking_started.emit(data["total"])
        elif event.kind == "tracking_progress":
            self.tracking_progress.emit(data["frame"], data["done"], data["total"])
        elif event.kind == "tracking_finished":
            self.tracking_finished.emit(dict(data))
