"""Undo/redo history: each change knows how to undo and redo itself; a new change clears the redo side."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..project.snapshot import Snapshot, restore
from ..project.store import ProjectStore


class Change(Protocol):
    description: str

    def undo(self) -> None: ...

    def redo(self) -> None: ...


@dataclass
class StoreChange:
    """A confirmed change: the project's region before and after, restored exactly either way."""

    description: str
    store: ProjectStore
    before: Snapshot
    after: Snapshot

    @property
    def prompts_changed(self) -> bool:
        return self.before.prompts != self.after.prompts

    def undo(self) -> None:
        restore(self.store, self.before)

    def redo(self) -> None:
        restore(self.store, self.after)


@dataclass
class CallbackChange:
    """A change that is not in the store yet (a click on the object being marked)."""

    description: str
    undo: Callable[[], None]
    redo: Callable[[], None]


class History:
    """Two stacks of changes; at most `limit` are kept (the oldest are forgotten first)."""

    def __init__(self, limit: int = 50) -> None:
        self.limit = limit
        self._undo: list[Change] = []
        self._redo: list[Change] = []

    def push(self, change: Change) -> None:
        self._undo.append(change)
        del self._undo[: -self.limit]
        self._redo.clear()

    def drop_pending(self) -> None:
        """Forget changes that were never confirmed (the clicks of an object once it is finished or cleared)."""
        self._undo = [c for c in self._undo if not isinstance(c, CallbackChange)]
        self._redo = [c for c in self._redo if not isinstance(c, CallbackChange)]

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo_description(self) -> str | None:
        return self._undo[-1].description if self._undo else None

    def redo_description(self) -> str | None:
        return self._redo[-1].description if self._redo else None

    def undo(self) -> Change | None:
        return self._move(self._undo, self._redo, "undo")

    def redo(self) -> Change | None:
        return self._move(self._redo, self._undo, "redo")

    @staticmethod
    def _move(source: list, target: list, method: str) -> Change | None:
        """Apply the newest change of `source` in one direction and hand it to the other stack."""
        if not source:
            return None
        change = source.pop()
        getattr(change, method)()
        target.append(change)
        return change
