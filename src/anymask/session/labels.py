"""Label manager: rename, merge, recolour, delete, hide classes and relabel objects, each one undoable step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..annotations.shapes import Label
from ..project.snapshot import Region
from .events import PROJECT_CHANGED

if TYPE_CHECKING:
    from .model_host import ModelHost
    from .project import AnnotatedProject

NO_MASKS = Region(objects=())  # label changes touch labels and objects only


class LabelManager:
    def __init__(self, project: "AnnotatedProject", host: "ModelHost") -> None:
        self.project, self.host = project, host

    def __iter__(self):
        return iter(self.project.store.labels())

    def names(self) -> list[str]:
        return [label.name for label in self.project.store.labels()]

    def get(self, name: str) -> Label:
        for label in self.project.store.labels():
            if label.name == name:
                return label
        raise ValueError(f"no class named {name!r}")

    def _change(self, description: str, region: Region = NO_MASKS):
        self.project.guard()
        return self.project.undoable(description, region)

    def _done(self) -> None:
        self.project.observers.emit(PROJECT_CHANGED, what="labels")

    def rename(self, old: str, new: str) -> None:
        """Rename a class everywhere; renaming onto an existing class merges the two."""
        self.get(old)
        new = new.strip()
        if not new:
            raise ValueError("a class name cannot be empty")
        if new == old:
            return
        with self._change(f"rename {old} to {new}"):
            self.project.store.rename_label(old, new)
        self._done()

    def merge(self, source: str, target: str) -> None:
        """Every object of class `source` becomes `target`; `source` disappears."""
        self.get(source), self.get(target)
        self.rename(source, target)

    def recolor(self, name: str, color: tuple[int, int, int]) -> None:
        self.get(name)
        if len(color) != 3 or not all(0 <= int(c) <= 255 for c in color):
            raise ValueError(f"a colour is three values 0..255, got {color!r}")
        with self._change(f"recolour {name}"):
            self.project.store.update_label(name, color=tuple(int(c) for c in color))
        self._done()

    def set_visible(self, name: str, visible: bool) -> None:
        self.get(name)
        with self._change(f"{'show' if visible else 'hide'} {name}"):
            self.project.store.update_label(name, visible=visible)
        self._done()

    def delete(self, name: str) -> None:
        """Delete a class with every object of that class (undo brings them back)."""
        self.get(name)
        objects = [o for o, label in self.project.store.objects().items() if label == name]
        with self._change(f"delete {name}", Region.whole_objects(objects)):
            self.project.store.delete_label(name)
        for object_id in objects:
            self.host.forget_object(object_id)
        self._done()

    def relabel_object(self, object_id: int, label: str) -> None:
        """Give one object another class (a new class is created if needed)."""
        if object_id not in self.project.store.objects():
            raise ValueError(f"no object {object_id}")
        label = label.strip()
        if not label:
            raise ValueError("a class name cannot be empty")
        with self._change(f"relabel object {object_id} as {label}"):
            self.project.store.relabel_object(object_id, label)
            self._drop_unused()
        self._done()

    def _drop_unused(self) -> None:
        """A class left with no objects by a relabel disappears (as in X-AnyLabeling's label list)."""
        used = set(self.project.store.objects().values())
        for label in self.project.store.labels():
            if label.name not in used:
                self.project.store.delete_label(label.name)
