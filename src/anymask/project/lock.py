"""An exclusive, process-wide lock on a project folder, released by the OS when the process dies."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ProjectError


class ProjectLock:
    """Holds `<folder>/lock` exclusively; a second process gets a ProjectError instead of waiting."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "lock"
        try:
            self._handle = open(self.path, "a+")
        except OSError as exc:
            raise ProjectError(f"{folder}: cannot write the project's lock file ({exc.strerror or exc})") from None
        try:
            _lock(self._handle)
        except OSError:
            self._handle.close()
            raise ProjectError(f"{folder}: project is open in another anymask process; close it there first") from None
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(str(os.getpid()))
        self._handle.flush()

    def release(self) -> None:
        if not self._handle.closed:
            _unlock(self._handle)
            self._handle.close()


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(handle) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(handle) -> None:
        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(handle) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(handle) -> None:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
