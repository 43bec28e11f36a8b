"""Label manager dialog: rename, recolour, merge, delete and hide classes (each change goes through the session)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QColorDialog,
    QDialog,
    QHBoxLayout,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
)

from .panels import swatch


class LabelManagerDialog(QDialog):
    """`run(name, function)` queues a session call; `labels()` reads the current classes."""

    def __init__(self, labels: Callable[[], list], run: Callable[[str, Callable], None], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Label manager")
        self._labels, self._run = labels, run
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
        self._run("labels", lambda session: session.labels.rename(old, new))

    def merge(self, source: str, target: str) -> None:
        self._run("labels", lambda session: session.labels.merge(source, target))

    def recolor(self, name: str, color: tuple[int, int, int]) -> None:
        self._run("labels", lambda session: session.labels.recolor(name, color))

    def delete(self, name: str) -> None:
        self._run("labels", lambda session: session.labels.delete(name))

    def set_visible(self, name: str, visible: bool) -> None:
        self._run("labels", lambda session: session.labels.set_visible(name, visible))

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
