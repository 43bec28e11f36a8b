"""ModelWorker: runs session calls in one background thread; clicks queued while the model runs are coalesced."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from enum import Enum
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..errors import AnymaskError

EXPECTED = (AnymaskError, ValueError, RuntimeError, OSError)


class Task(str, Enum):
    """What the model thread is asked to do (the names its finished/failed signals carry)."""

    FRAME = "frame"
    CLICK = "click"
    BOX = "box"
    FINISH = "finish"
    CLEAR = "clear"
    MARK = "mark"
    UNDO = "undo"
    REDO = "redo"
    TRACK = "track"
    EDIT = "edit"
    MODEL = "model"
    EXPORT = "export"
    IMPORT = "import"
    LABELS = "labels"
    OUTPUT = "output"


BUSY_WORDS = {  # what the status bar says while a task runs
    Task.CLICK: "computing the mask…",
    Task.BOX: "computing the mask…",
    Task.MARK: "preparing the correction…",
    Task.FINISH: "saving the object…",
    Task.TRACK: "starting tracking…",
    Task.MODEL: "loading the model…",
    Task.EXPORT: "exporting…",
    Task.IMPORT: "importing…",
    Task.UNDO: "undoing…",
    Task.REDO: "redoing…",
}


class ModelWorker(QObject):
    """Tasks run in order. Consecutive queued clicks become one `session.add_points` call (one model run)."""

    finished = Signal(str, object)  # task name, result
    failed = Signal(str, str)  # task name, one-line message
    busy_changed = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self._tasks: deque[tuple[str, Any]] = deque()
        self._wake = threading.Condition()
        self._closed = False
        self._busy = False
        self.current: str | None = None  # the task running now (for the window's busy indicator)
        self._thread = threading.Thread(target=self._loop, name="anymask-model", daemon=True)
        self._thread.start()

    @property
    def stopped(self) -> bool:
        """True once the thread has ended (after close)."""
        return not self._thread.is_alive()

    @property
    def busy(self) -> bool:
        return self._busy or bool(self._tasks)

    def submit(self, name: Task, function: Callable[[], Any]) -> None:
        self._put(name, function)

    def submit_click(self, session, x: float, y: float, positive: bool) -> None:
        self._put(Task.CLICK, (session, (x, y, positive)))

    def _put(self, name: str, payload) -> None:
        with self._wake:
            self._tasks.append((name, payload))
            self._wake.notify()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """For tests and shutdown: True once every queued task has run."""
        with self._wake:
            return self._wake.wait_for(lambda: not self._tasks and not self._busy, timeout)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._tasks.clear()
            self._wake.notify_all()
        self._thread.join(timeout=120)

    def _next(self) -> tuple[str, Any] | None:
        with self._wake:
            self._wake.wait_for(lambda: self._tasks or self._closed)
            if self._closed:
                return None
            name, payload = self._tasks.popleft()
            if name == Task.CLICK:
                session, points = payload[0], [payload[1]]
                while self._tasks and self._tasks[0][0] == Task.CLICK and self._tasks[0][1][0] is session:
                    points.append(self._tasks.popleft()[1][1])
                payload = partial(session.add_points, points)
            self._busy = True
            self.current = name
        self.busy_changed.emit(True)
        return name, payload

    def _loop(self) -> None:
        while True:
            task = self._next()
            if task is None:
                return
            name, function = task
            try:
                result = function()
            except EXPECTED as exc:
                self.failed.emit(name, str(exc))
            except Exception as exc:
                self.failed.emit(name, f"{type(exc).__name__}: {exc}")
            else:
                self.finished.emit(name, result)
            with self._wake:
                self._busy = bool(self._tasks)
                self._wake.notify_all()
            if not self._busy:
                self.busy_changed.emit(False)
