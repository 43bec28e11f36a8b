"""WindowDialogs: the main window's actions that ask the person something first (mixed into MainWindow)."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from .dialogs import ExportDialog, ImportDialog, ModelDialog, ShortcutSheet, TrackDialog
from .label_dialog import LabelManagerDialog, LabelPrompt


class WindowDialogs:
    """Dialogs and confirmations. Every change they lead to goes through the controller's named methods."""

    def _ask(self, title: str, question: str, buttons, default) -> QMessageBox.StandardButton:
        return QMessageBox.question(self, title, question, buttons, default)

    def _need_open(self) -> bool:
        if self.controller.session is None:
            self.show_error("open a video or a folder first (Ctrl+O, Ctrl+U)")
            return False
        return True

    # an unfinished object is finished or dropped only when the person says so ---------------------------
    def settle_unfinished(self, doing: str) -> bool:
        """Before `doing` something that would drop the object being marked: finish it, discard it, or stop.
        True when `doing` may go ahead."""
        c = self.controller
        if not c.unfinished_object:
            return True
        answer = self._ask(
            "Unfinished object",
            f"Object {c.marking} has prompts that are not saved yet. Finish it before {doing}?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel,
            QMessageBox.Save,
        )
        if answer == QMessageBox.Save:
            self.finish_object()
            return True
        if answer == QMessageBox.Discard:
            c.clear()
            return True
        return False

    def finish_object(self) -> None:
        """F: a new object asks for its label (recent labels and the classes offered); a correction keeps its own."""
        c = self.controller
        if c.marking is None or c.object_label(c.marking) is not None:
            c.finish()
            return
        prompt = LabelPrompt(c.marking, self.settings.recent_labels(), [x.name for x in c.labels()], self)
        if prompt.exec():
            label = prompt.choice() or None
            if label:
                self.settings.add_recent_label(label)
            c.finish(label)

    def track_all(self) -> None:
        if self.settle_unfinished("tracking"):
            self.controller.track()

    def track_dialog(self) -> None:
        if not self._need_open() or not self.settle_unfinished("tracking"):
            return
        dialog = TrackDialog(self.controller.frame, self.controller.frame_count, self)
        if dialog.exec():
            self.controller.track(*dialog.choice())

    def confirm_remove(self, object_id: int) -> None:
        label = self.controller.object_label(object_id) or "?"
        answer = self._ask(
            "Remove object",
            f"Remove object {object_id} ({label}) and its masks on every frame? Ctrl+Z brings it back.",
            QMessageBox.Yes | QMessageBox.No,
            QMessageBox.No,
        )
        if answer == QMessageBox.Yes:
            self.controller.remove_object(object_id)

    # model --------------------------------------------------------------------------------------------
    def model_dialog(self) -> None:
        dialog = ModelDialog(self.settings.model(), self)
        if dialog.exec() and self.settle_unfinished("changing the model"):
            self.choose_model(dialog.choice())

    def choose_model(self, choice: dict) -> bool:
        """Remember the model, downloading a name not cached yet first (with a progress dialog)."""
        problem = self.model_choice.obtain(choice)
        if problem:
            self.show_error(problem)
            return False
        self.model_choice.remember(choice)
        self.controller.set_model(choice["spec"], choice["precision"], choice["device"])
        self.clear_error()
        self.show_model()
        return True

    def ensure_model(self) -> bool:
        """Before the first click: a model name not downloaded yet is downloaded with a progress dialog."""
        if self.controller.model_available:
            return True
        return self.choose_model(self.settings.model())

    # files and classes --------------------------------------------------------------------------------
    def export_dialog(self) -> None:
        if not self._need_open():
            return
        c = self.controller
        dialog = ExportDialog(c.export_folder, c.session.output_mode, self)
        if dialog.exec():
            self.controller.export(*dialog.choice())

    def import_dialog(self) -> None:
        if not self._need_open():
            return
        dialog = ImportDialog(self.controller.media_path.parent, self)
        if dialog.exec():
            self.controller.import_annotations(*dialog.choice())

    def label_manager(self) -> LabelManagerDialog | None:
        if not self._need_open():
            return None
        dialog = LabelManagerDialog(self.controller, self)
        self.controller.annotations_changed.connect(dialog.refresh)
        dialog.show()
        return dialog

    def shortcut_sheet(self) -> None:
        ShortcutSheet(self.shortcut_rows(), self).show()
