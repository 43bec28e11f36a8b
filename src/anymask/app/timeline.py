"""Timeline: one row per object showing where it is present, low-confidence or absent; a click jumps there."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

ROW_PX, LABEL_PX, MAX_HEIGHT_PX = 14, 110, 200
STATE_COLORS = {"absent": QColor(70, 70, 78), "low": QColor(240, 160, 40)}
CODES = {"present": 1, "low": 2, "absent": 3}  # a pixel column covering several frames shows the worst
PROMPT_COLOR = QColor(255, 255, 255)


class Timeline(QWidget):
    frame_clicked = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.frame_count, self.current = 0, 0
        self.rows: list[tuple[int, str, tuple[int, int, int], dict[int, str], list[int]]] = []
        self.setFixedHeight(ROW_PX + 10)
        self.setToolTip(
            "Per object: coloured where present, orange where confidence is low, grey where absent; "
            "white ticks are prompted frames. Click to jump."
        )

    def set_rows(self, frame_count: int, rows) -> None:
        """rows: (object id, label, colour, {frame: present|low|absent}, prompted frames)."""
        self.frame_count, self.rows = frame_count, list(rows)
        self.setFixedHeight(min(MAX_HEIGHT_PX, max(1, len(self.rows)) * ROW_PX + 10))
        self.update()

    def set_current(self, frame: int) -> None:
        self.current = frame
        self.update()

    def _x(self, frame: float) -> float:
        width = max(1, self.width() - LABEL_PX)
        return LABEL_PX + width * frame / max(1, self.frame_count)

    def frame_at(self, x: float) -> int:
        width = max(1, self.width() - LABEL_PX)
        return int(max(0, min(self.frame_count - 1, (x - LABEL_PX) / width * self.frame_count)))

    def mousePressEvent(self, event) -> None:
        if self.frame_count and event.position().x() >= LABEL_PX:
            self.frame_clicked.emit(self.frame_at(event.position().x()))

    def columns(self, states: dict[int, str], width: int) -> np.ndarray:
        """One code per pixel column (0: not tracked), the worst state among the frames it covers."""
        codes = np.zeros(width, np.int8)
        if states and width > 0:
            frames = np.fromiter(states.keys(), dtype=np.int64, count=len(states))
            values = np.fromiter((CODES.get(v, 1) for v in states.values()), dtype=np.int8, count=len(states))
            np.maximum.at(codes, np.clip(frames * width // max(1, self.frame_count), 0, width - 1), values)
        return codes

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(40, 40, 44))
        if not self.frame_count:
            return
        width = max(1, self.width() - LABEL_PX)
        for row, (object_id, label, color, states, prompted) in enumerate(self.rows):
            top = 4 + row * ROW_PX
            painter.setPen(QColor(220, 220, 220))
            painter.drawText(QRectF(2, top - 1, LABEL_PX - 4, ROW_PX), Qt.AlignVCenter, f"{object_id} {label}")
            colours = {1: QColor(*color), 2: STATE_COLORS["low"], 3: STATE_COLORS["absent"]}
            codes = self.columns(states, width)
            changes = np.flatnonzero(np.diff(codes)) + 1
            for begin, end in zip(np.r_[0, changes], np.r_[changes, width]):
                if codes[begin]:
                    painter.fillRect(QRectF(LABEL_PX + begin, top, end - begin, ROW_PX - 3), colours[int(codes[begin])])
            painter.setPen(QPen(PROMPT_COLOR, 1))
            for frame in prompted:
                x = self._x(frame + 0.5)
                painter.drawLine(int(x), top, int(x), top + ROW_PX - 3)
        painter.setPen(QPen(QColor(255, 255, 255), 2))
        x = int(self._x(self.current + 0.5))
        painter.drawLine(x, 0, x, self.height())
