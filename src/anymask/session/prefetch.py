"""Prefetcher: computes the current and next frame's embeddings in a background thread while a person works."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from ..errors import AnymaskError

if TYPE_CHECKING:
    from .model_host import ModelHost
    from .project import AnnotatedProject


class Prefetcher:
    """Only the latest request counts (navigating fast skips frames); nothing runs while tracking does."""

    def __init__(self, project: "AnnotatedProject", host: "ModelHost") -> None:
        self.project, self.host = project, host
        self.error: str | None = None
        self._wanted: int | None = None
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="anymask-prefetch", daemon=True)
        self._thread.start()

    def request(self, frame: int) -> None:
        with self._wake:
            self._wanted = frame
            self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            with self._wake:
                while self._wanted is None and not self._closed:
                    self._wake.wait()
                if self._closed:
                    return
                frame, self._wanted = self._wanted, None
            for target in (frame, frame + 1):
                if self._wanted is not None or self._closed or self.project.busy:
                    break  # a newer request or tracking takes over
                if target < len(self.project.source):
                    self._compute(target)

    def _compute(self, frame: int) -> None:
        if not self.host.model_available:
            return  # never download in the background: the first click (or the GUI's download dialog) does
        try:
            with self.project.lock:
                self.host.tracker.prefetch(frame)
        except (AnymaskError, OSError, RuntimeError, ValueError) as exc:
            self.error = str(exc)  # the click that needs it will report the problem itself
