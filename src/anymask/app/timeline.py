"""Timeline: a ruler of frame numbers, then one row per object (present, low confidence, absent, keyframes)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget

ROW_PX, LABEL_PX, MAX_HEIGHT_PX, RULER_PX = 14, 110, 220, 18
STATE_COLORS = {"absent": QColor(70, 70, 78), "low": QColor(240, 160, 40)}
CODES = {"present": 1, "low": 2, "absent": 3}  # a pixel column covering several frames shows the worst
PROMPT_COLOR = QColor(255, 230, 0)  # keyframes (prompted frames): yellow, apart from the white cursor
CURSOR_COLOR = QColor(255, 255, 255)
TICK_STEPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 25000, 50000, 100000)


def tick_step(frame_count: int, width: int, min_gap_px: int = 60) -> int:
    """The ruler's labelled step: the smallest round number of frames at least `min_gap_px` apart."""
    for step in TICK_STEPS:
        if step * width / max(1, frame_count) >= min_gap_px:
            return step
    return TICK_STEPS[-1]


class Timeline(QWidget):
    frame_clicked = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.frame_count, self.current = 0, 0
        self.rows: list[tuple[int, str, tuple[int, int, int], dict[int, str], list[int]]] = []
        self.setFixedHeight(RULER_PX + ROW_PX + 10)
        self.setToolTip(
            "Frame numbers on top; per object: coloured where present, orange where confidence is low, grey where "
            "absent; yellow marks are keyframes (prompted frames; [ and ] jump between them). Click to jump."
        )

    def set_rows(self, frame_count: int, rows) -> None:
        """rows: (object id, label, colour, {frame: present|low|absent}, prompted frames)."""
        self.frame_count, self.rows = frame_count, list(rows)
        self.setFixedHeight(min(MAX_HEIGHT_PX, RULER_PX + max(1, len(self.rows)) * ROW_PX + 10))
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
        """One code per pixel column (0: not tracked): a frame fills all the columns it spans, and a column
        covering several frames shows the worst state among them."""
        codes = np.zeros(width, np.int8)
        if not states or width <= 0 or not self.frame_count:
            return codes
        per_frame = np.zeros(self.frame_count, np.int8)
        frames = np.fromiter(states.keys(), dtype=np.int64, count=len(states))
        values = np.fromiter((CODES.get(v, 1) for v in states.values()), dtype=np.int8, count=len(states))
        inside = (frames >= 0) & (frames < self.frame_count)
        np.maximum.at(per_frame, frames[inside], values[inside])
        if width >= self.frame_count:  # wide: each column shows the frame under it
            return per_frame[np.arange(width) * self.frame_count // width]
        starts = np.arange(width) * self.frame_count // width  # narrow: the worst of the frames in the column
        return np.maximum.reduceat(per_frame, starts)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(40, 40, 44))
        if not self.frame_count:
            return
        width = max(1, self.width() - LABEL_PX)
        self._paint_ruler(painter, width)
        for row, (object_id, label, color, states, prompted) in enumerate(self.rows):
            top = RULER_PX + 4 + row * ROW_PX
            painter.setPen(QColor(220, 220, 220))
            painter.drawText(QRectF(2, top - 1, LABEL_PX - 4, ROW_PX), Qt.AlignVCenter, f"{object_id} {label}")
            colours = {1: QColor(*color), 2: STATE_COLORS["low"], 3: STATE_COLORS["absent"]}
            codes = self.columns(states, width)
            changes = np.flatnonzero(np.diff(codes)) + 1
            for begin, end in zip(np.r_[0, changes], np.r_[changes, width]):
                if codes[begin]:
                    painter.fillRect(QRectF(LABEL_PX + begin, top, end - begin, ROW_PX - 3), colours[int(codes[begin])])
            painter.setPen(QPen(PROMPT_COLOR, 2))
            for frame in prompted:
                x = self._x(frame + 0.5)
                painter.drawLine(int(x), top, int(x), top + ROW_PX - 3)
        self._paint_cursor(painter)

    def _paint_ruler(self, painter: QPainter, width: int) -> None:
        """Ticks and 1-based frame numbers every round step."""
        painter.fillRect(QRectF(LABEL_PX, 0, width, RULER_PX), QColor(52, 52, 58))
        painter.setPen(QColor(190, 190, 190))
        step = tick_step(self.frame_count, width)
        for number in range(step, self.frame_count + 1, step):  # frame numbers as people count them, from 1
            x = int(self._x(number - 0.5))
            painter.drawLine(x, RULER_PX - 5, x, RULER_PX)
            painter.drawText(QRectF(x - 40, 0, 80, RULER_PX - 4), Qt.AlignCenter, str(number))
        painter.drawText(QRectF(2, 0, LABEL_PX - 4, RULER_PX), Qt.AlignVCenter, f"{self.frame_count} frames")

    def _paint_cursor(self, painter: QPainter) -> None:
        """The current frame: a line through the rows and a box with its number on the ruler."""
        x = int(self._x(self.current + 0.5))
        painter.setPen(QPen(CURSOR_COLOR, 2))
        painter.drawLine(x, RULER_PX, x, self.height())
        text = str(self.current + 1)
        box = QRectF(x - 4 - 4 * len(text), 1, 8 + 8 * len(text), RULER_PX - 2)
        box.moveLeft(max(LABEL_PX, min(self.width() - box.width() - 1, box.left())))
        painter.fillRect(box, CURSOR_COLOR)
        painter.setPen(QColor(20, 20, 20))
        painter.drawText(box, Qt.AlignCenter, text)
