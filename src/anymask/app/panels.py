"""Side panels: the object list (id, label, colour, visibility, remove) and the review list (jump to frames)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..session import ReviewItem


def swatch(color: tuple[int, int, int]) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(*color))
    return QIcon(pixmap)


class ObjectPanel(QWidget):
    """Objects of the project. Double-click a label to relabel; untick to hide an object; select to correct it."""

    relabel_requested = Signal(int, str)
    visibility_changed = Signal(int, bool)  # object id, shown
    remove_requested = Signal(int)
    object_selected = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["id", "label", "frames"])
        self.tree.setRootIsDecorated(False)
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.itemSelectionChanged.connect(self._selection)
        self.remove_button = QPushButton("Remove object")
        self.remove_button.clicked.connect(self._remove)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        layout.addWidget(self.remove_button)
        self._filling = False

    def set_objects(self, rows) -> None:
        """rows: (object id, label, colour, visible, frame count)."""
        self._filling = True
        selected = self.selected_object()
        self.tree.clear()
        for object_id, label, color, visible, frames in rows:
            item = QTreeWidgetItem([str(object_id), label, str(frames)])
            item.setData(0, Qt.UserRole, object_id)
            item.setIcon(1, swatch(color))
            item.setFlags(item.flags() | Qt.ItemIsEditable | Qt.ItemIsUserCheckable)
            item.setCheckState(0, Qt.Checked if visible else Qt.Unchecked)
            self.tree.addTopLevelItem(item)
            if object_id == selected:
                item.setSelected(True)
        self._filling = False

    def selected_object(self) -> int | None:
        items = self.tree.selectedItems()
        return items[0].data(0, Qt.UserRole) if items else None

    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._filling:
            return
        object_id = item.data(0, Qt.UserRole)
        if column == 1:
            self.relabel_requested.emit(object_id, item.text(1))
        elif column == 0:
            self.visibility_changed.emit(object_id, item.checkState(0) == Qt.Checked)

    def _selection(self) -> None:
        object_id = self.selected_object()
        if object_id is not None and not self._filling:
            self.object_selected.emit(object_id)

    def _remove(self) -> None:
        object_id = self.selected_object()
        if object_id is not None:
            self.remove_requested.emit(object_id)


class ReviewPanel(QListWidget):
    """Frames the session flagged: lost, reappeared, confidence dropped. Click one to jump there."""

    frame_requested = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.itemClicked.connect(lambda item: self.frame_requested.emit(item.data(Qt.UserRole)))

    def set_items(self, items: list[ReviewItem], labels: dict[int, str]) -> None:
        self.clear()
        for entry in items:
            item = QListWidgetItem(
                f"frame {entry.frame}: {labels.get(entry.object_id, '?')} #{entry.object_id} {entry.kind}"
            )
            item.setData(Qt.UserRole, entry.frame)
            self.addItem(item)
