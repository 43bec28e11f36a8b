"""Session events and the observer list the GUI subscribes to (so it redraws without polling)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

FRAME_CHANGED = "frame_changed"
MASK_UPDATED = "mask_updated"
OBJECT_ADDED = "object_added"
OBJECT_REMOVED = "object_removed"
TRACKING_PROGRESS = "tracking_progress"


@dataclass
class Event:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)


class Observers:
    """Callbacks called in order for every event; an observer that raises is reported, not fatal."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[Event], None]] = []
        self.errors: list[str] = []

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback)

    def emit(self, kind: str, **data) -> None:
        event = Event(kind, data)
        for callback in list(self._callbacks):
            try:
                callback(event)
            except Exception as exc:  # a broken observer must not break annotation
                self.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
