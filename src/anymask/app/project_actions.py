"""ProjectActions: the controller's named methods that change a project (objects, shapes, classes, files)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .worker import Task


def saying(call: Callable[[], object], message: str) -> Callable[[], str]:
    """`call`, then `message` as the task's result (the controller shows a str result in the status line)."""

    def run() -> str:
        call()
        return message

    return run


class ProjectActions:
    """Mixed into AppController: each method queues one session call on the model thread, in order with
    the clicks, and says what it did. Widgets call these; none of them touches the session itself."""

    session = None
    worker = None
    export_progress = None  # AppController's Signal(int, int)

    def _need_session(self) -> bool:  # AppController's
        raise NotImplementedError

    def _submit(self, task: Task, call: Callable[[], object]) -> None:
        if self._need_session():
            self.worker.submit(task, call)

    # objects ------------------------------------------------------------------------------------------
    def relabel_object(self, object_id: int, label: str) -> None:
        session = self.session
        self._submit(
            Task.EDIT,
            saying(lambda: session.labels.relabel_object(object_id, label), f"object {object_id} is now {label}"),
        )

    def remove_object(self, object_id: int) -> None:
        """Remove an object and its masks on every frame (Ctrl+Z brings it back)."""
        session = self.session
        self._submit(Task.EDIT, saying(lambda: session.remove_object(object_id), f"object {object_id} removed"))

    # shapes on the current frame ----------------------------------------------------------------------
    def move_vertex(self, object_id: int, index: int, x: float, y: float) -> None:
        session, frame = self.session, self.frame
        self._submit(Task.EDIT, lambda: session.edit.move_vertex(frame, object_id, index, x, y))

    def remove_vertex(self, object_id: int, index: int) -> None:
        session, frame = self.session, self.frame
        self._submit(Task.EDIT, lambda: session.edit.remove_vertex(frame, object_id, index))

    def insert_vertex(self, object_id: int, index: int, x: float, y: float) -> None:
        session, frame = self.session, self.frame
        self._submit(Task.EDIT, lambda: session.edit.insert_vertex(frame, object_id, index, x, y))

    def delete_shape(self, object_id: int) -> None:
        session, frame = self.session, self.frame
        self._submit(
            Task.EDIT,
            saying(lambda: session.edit.delete_shape(frame, object_id), f"shape of object {object_id} deleted"),
        )

    # classes ------------------------------------------------------------------------------------------
    def labels(self) -> list:
        """The project's classes (name, colour, visible), for the label manager and the label prompt."""
        return list(self.session.store.labels()) if self.session is not None else []

    def rename_label(self, old: str, new: str) -> None:
        session = self.session
        self._submit(Task.LABELS, saying(lambda: session.labels.rename(old, new), f"class {old} renamed to {new}"))

    def merge_labels(self, source: str, target: str) -> None:
        session = self.session
        self._submit(
            Task.LABELS, saying(lambda: session.labels.merge(source, target), f"class {source} merged into {target}")
        )

    def recolor_label(self, name: str, color: tuple[int, int, int]) -> None:
        session = self.session
        self._submit(Task.LABELS, saying(lambda: session.labels.recolor(name, color), f"class {name} recoloured"))

    def delete_label(self, name: str) -> None:
        session = self.session
        self._submit(Task.LABELS, saying(lambda: session.labels.delete(name), f"class {name} and its objects deleted"))

    def set_label_visible(self, name: str, visible: bool) -> None:
        session = self.session
        self._submit(Task.LABELS, lambda: session.labels.set_visible(name, visible))

    # output, model, files -----------------------------------------------------------------------------
    def set_output(self, mode: str, tolerance: float) -> None:
        if self.session is not None:
            session = self.session
            self.worker.submit(Task.OUTPUT, lambda: session.set_output_mode(mode, tolerance))

    def set_model(self, spec: str, precision: str, device: str) -> None:
        if self.session is not None:
            session = self.session
            self.worker.submit(
                Task.MODEL, saying(lambda: session.set_model(spec, precision, device), f"model: {Path(spec).name}")
            )

    def reset_tracker(self) -> None:
        """Forget the tracker's memory (it is rebuilt from the saved prompts on the next click or track)."""
        session = self.session
        self._submit(Task.EDIT, saying(session.reset_tracker, "tracker reset: its memory is rebuilt from the prompts"))

    def export(self, format_name: str, mode: str, folder: Path, empty_frames: bool = False) -> None:
        """Write the project as a dataset in the output mode chosen (export_progress reports each frame);
        `empty_frames`: per-image formats also write the frames without objects."""
        session, progress = self.session, self.export_progress.emit

        def run():
            if session.output_mode != mode:
                session.set_output_mode(mode)
            return session.export(format_name, folder, progress, empty_frames=empty_frames)

        self._submit(Task.EXPORT, run)

    def import_annotations(self, format_name: str, path: Path) -> None:
        """Add another tool's annotations to the project as new objects."""
        session = self.session
        self._submit(Task.IMPORT, lambda: session.import_annotations(format_name, path))
