"""Session events and the observer list the GUI subscribes to (so it redraws without polling)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

FRAME_CHANGED = "frame_changed"  # frame
MASK_UPDATED = "mask_updated"  # frame, object_id, mask (the object being marked, after each click)
OBJECT_ADDED = "object_added"  # object_id, label, frame
OBJECT_REMOVED = "object_removed"  # object_id
PROJECT_CHANGED = "project_changed"  # what: undo, redo, edit, labels, output mode; redraw from the store
TRACKING_STARTED = "tracking_started"  # direction, start, end
TRACKING_PROGRESS = "tracking_progress"  # frame, done, total
TRACKING_FINISHED = "tracking_finished"  # frames, cancelled, error


@dataclass
class Event:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


class Observers:
    """Callbacks called in order for every event; an observer that raises is reported, not fatal.

    Tracking events come from the tracking thread: a GUI hands them to its own thread (Qt: a queued signal).
    """

    def __init__(self) -> None:
        self._callbacks: list[Callable[[Event], None]] = []
        self._guard = threading.Lock()
        self.errors: list[str] = []

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        with self._guard:
            self._callbacks.append(callback)
        return lambda: self._unsubscribe(callback)

    def _unsubscribe(self, callback) -> None:
        with self._guard:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def emit(self, kind: str, **data) -> None:
        event = Event(kind, data)
        with self._guard:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(event)
            except Exception as exc:  # a broken observer must not break annotation
                self.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
