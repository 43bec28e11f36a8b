"""Label dialogs: the label prompt on F (recent labels and classes) and the label manager (rename, merge, ...)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QColorDialog,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
)

from .panels import swatch


class LabelPrompt(QDialog):
    """Asked on F: the new object's class, typed or picked from recent labels and the project's classes."""

    def __init__(self, object_id: int, recent: list[str], classes: list[str], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Label of object {object_id}")
        self.label = QComboBox()
        self.label.setEditable(True)
        choices = list(dict.fromkeys([*recent, *classes])) or [f"object{object_id}"]
        self.label.addItems(choices)
        self.label.setCurrentIndex(0)
        self.label.lineEdit().selectAll()
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Label", self.label)
        form.addRow(buttons)

    def choice(self) -> str:
        return self.label.currentText().strip()


class LabelManagerDialog(QDialog):
    """Classes of the project; every change goes through the controller's named methods."""

    def __init__(self, controller, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Label manager")
        self.controller = controller
        self._labels = controller.labels
        self.list = QListWidget()
        self.list.itemChanged.connect(self._visibility)
        buttons = QHBoxLayout()
        for text, handler in (
            ("Rename…", self._ask_rename),
            ("Colour…", self._ask_color),
            ("Merge into…", self._ask_merge),
            ("Delete", self._ask_delete),
        ):
            button = QPushButton(text)
            button.clicked.connect(handler)
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self.resize(420, 360)
        self.refresh()

    def refresh(self) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for label in self._labels():
            item = QListWidgetItem(swatch(label.color), label.name)
            item.setData(Qt.UserRole, label.name)
            item.setFlags(item.flags() | Qt.ItemIsUserCheckable)
            item.setCheckState(Qt.Checked if label.visible else Qt.Unchecked)
            self.list.addItem(item)
        self.list.blockSignals(False)

    def selected(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.UserRole) if item else None

    # the operations (buttons ask, then call these; tests call them directly) ---------------------------
    def rename(self, old: str, new: str) -> None:
        self.controller.rename_label(old, new)

    def merge(self, source: str, target: str) -> None:
        self.controller.merge_labels(source, target)

    def recolor(self, name: str, color: tuple[int, int, int]) -> None:
        self.controller.recolor_label(name, color)

    def delete(self, name: str) -> None:
        self.controller.delete_label(name)

    def set_visible(self, name: str, visible: bool) -> None:
        self.controller.set_label_visible(name, visible)

    # asking -------------------------------------------------------------------------------------------
    def _visibility(self, item: QListWidgetItem) -> None:
        self.set_visible(item.data(Qt.UserRole), item.checkState() == Qt.Checked)

    def _ask_rename(self) -> None:
        name = self.selected()
        if name:
            new, ok = QInputDialog.getText(self, "Rename class", f"New name for {name}:", text=name)
            if ok and new.strip():
                self.rename(name, new.strip())

    def _ask_color(self) -> None:
        name = self.selected()
        if name:
            color = QColorDialog.getColor(parent=self, title=f"Colour of {name}")
            if color.isValid():
                self.recolor(name, (color.red(), color.green(), color.blue()))

    def _ask_merge(self) -> None:
        name = self.selected()
        others = [label.name for label in self._labels() if label.name != name]
        if name and others:
            target, ok = QInputDialog.getItem(self, "Merge classes", f"Merge {name} into:", others, 0, False)
            if ok:
                self.merge(name, target)

    def _ask_delete(self) -> None:
        name = self.selected()
        if (
            name
            and QMessageBox.question(self, "Delete class", f"Delete {name} and all its objects? (Ctrl+Z undoes)")
            == QMessageBox.Yes
        ):
            self.delete(name)
