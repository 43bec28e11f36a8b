"""FileList: the images of a folder, each marked done once it has an object; a click opens that image."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

DONE, TODO = "✓", "·"


class FileList(QWidget):
    """One row per image: a done mark, the file name and how many objects it has."""

    frame_requested = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.summary = QLabel()
        self.list = QListWidget()
        self.list.currentRowChanged.connect(self._picked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.list)
        self._filling = False

    def set_files(self, names: list[str], objects_per_frame: dict[int, int], current: int) -> None:
        self._filling = True
        self.list.clear()
        for index, name in enumerate(names):
            count = objects_per_frame.get(index, 0)
            text = f"{DONE if count else TODO} {name}" + (f"  ({count})" if count else "")
            item = QListWidgetItem(text)
            item.setToolTip(f"{name}: {count} object(s)" if count else f"{name}: not annotated yet")
            item.setData(Qt.UserRole, index)
            self.list.addItem(item)
        done = sum(1 for i in range(len(names)) if objects_per_frame.get(i))
        self.summary.setText(f"{done} of {len(names)} images done")
        self.set_current(current)
        self._filling = False

    def set_current(self, frame: int) -> None:
        if 0 <= frame < self.list.count() and self.list.currentRow() != frame:
            was, self._filling = self._filling, True
            self.list.setCurrentRow(frame)
            self._filling = was

    def _picked(self, row: int) -> None:
        if not self._filling and row >= 0:
            self.frame_requested.emit(row)
