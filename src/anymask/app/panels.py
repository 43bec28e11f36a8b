"""Side panels: the object list (id, label, colour, visibility, remove) and the review list (jump to frames)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
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
    """Objects of the project. Double-click a label to relabel; untick to hide an object; select one to
    highlight it (edit mode edits its shape); Correct (or a double-click on its id) adds clicks to it."""

    relabel_requested = Signal(int, str)
    visibility_changed = Signal(int, bool)  # object id, shown
    remove_requested = Signal(int)
    object_selected = Signal(object)  # object id, or None
    correct_requested = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["id", "label", "frames"])
        self.tree.setRootIsDecorated(False)
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.itemSelectionChanged.connect(self._selection)
        self.tree.itemDoubleClicked.connect(self._double_clicked)
        self.correct_button = QPushButton("Correct object")
        self.correct_button.setToolTip("Add clicks to the selected object on this frame; F confirms, B cancels")
        self.correct_button.clicked.connect(self._correct)
        self.remove_button = QPushButton("Remove object…")
        self.remove_button.clicked.connect(self._remove)
        buttons = QHBoxLayout()
        buttons.addWidget(self.correct_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree)
        layout.addLayout(buttons)
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

    def select(self, object_id: int | None) -> None:
        """Select an object's row (from a click on the canvas) without asking to correct it."""
        self._filling = True
        for index in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(index)
            item.setSelected(item.data(0, Qt.UserRole) == object_id)
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
        if not self._filling:
            self.object_selected.emit(self.selected_object())

    def _double_clicked(self, item: QTreeWidgetItem, column: int) -> None:
        if column == 0:
            self.correct_requested.emit(item.data(0, Qt.UserRole))

    def _correct(self) -> None:
        object_id = self.selected_object()
        if object_id is not None:
            self.correct_requested.emit(object_id)

    def _remove(self) -> None:
        object_id = self.selected_object()
        if object_id is not None:
            self.remove_requested.emit(object_id)


EMPTY_REVIEW = (
    "Nothing to review yet. After tracking, frames where an object was lost, came back or its confidence "
    "dropped are listed here; click one to go there and correct it."
)


class ReviewPanel(QListWidget):
    """Frames the session flagged: lost, reappeared, confidence dropped. Click one to jump there."""

    frame_requested = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.itemClicked.connect(self._clicked)
        self.set_items([], {})

    def _clicked(self, item: QListWidgetItem) -> None:
        frame = item.data(Qt.UserRole)
        if frame is not None:
            self.frame_requested.emit(frame)

    def set_items(self, items: list[ReviewItem], labels: dict[int, str]) -> None:
        self.clear()
        if not items:
            explanation = QListWidgetItem(EMPTY_REVIEW)
            explanation.setFlags(Qt.NoItemFlags)
            self.addItem(explanation)
            return
        for entry in items:
            item = QListWidgetItem(
                f"frame {entry.frame + 1}: {labels.get(entry.object_id, '?')} #{entry.object_id} {entry.kind}"
            )
            item.setData(Qt.UserRole, entry.frame)
            self.addItem(item)
