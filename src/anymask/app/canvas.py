"""Canvas: the frame with masks, shapes and prompts; zoom, pan, clicks, box drags and vertex edits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

from ..annotations.shapes import Shape

MASK_ALPHA, PENDING_ALPHA = 96, 150
VERTEX_GRAB_PX, DRAG_START_PX, VERTEX_SPACING_PX = 8.0, 6.0, 8.0
POSITIVE, NEGATIVE = QColor(40, 220, 60), QColor(235, 50, 50)


@dataclass
class ObjectLayer:
    object_id: int
    label: str
    color: tuple[int, int, int]
    mask: np.ndarray | None
    shape: Shape | None


def rgb_image(frame: np.ndarray) -> QImage:
    frame = np.ascontiguousarray(frame)
    height, width = frame.shape[:2]
    return QImage(frame.data, width, height, 3 * width, QImage.Format_RGB888).copy()


def overlay_image(
    layers: list[tuple[np.ndarray, tuple[int, int, int]]], size: tuple[int, int], alpha: int
) -> QImage | None:
    if not layers:
        return None
    rgba = np.zeros((*size, 4), np.uint8)
    for mask, color in layers:
        rgba[mask] = (*color, alpha)
    return QImage(rgba.data, size[1], size[0], 4 * size[1], QImage.Format_RGBA8888).copy()


def shape_polygon(shape: Shape) -> QPolygonF:
    points = shape.points
    if shape.shape_type == "rectangle" and len(points) == 2:
        (x1, y1), (x2, y2) = points
        points = [[x1, y1], [x2, y1], [x2, y2], [x1, y2]]
    return QPolygonF([QPointF(x, y) for x, y in points])


class Canvas(QWidget):
    clicked = Signal(float, float, bool)  # image x, y, positive
    box_drawn = Signal(float, float, float, float)
    vertex_moved = Signal(int, int, float, float)  # object id, vertex index, x, y
    vertex_removed = Signal(int, int)
    vertex_inserted = Signal(int, int, float, float)
    selection_changed = Signal(object)  # object id or None

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMinimumSize(320, 240)
        self.positive, self.edit_mode = True, False
        self.scale, self.offset, self._fit = 1.0, QPointF(0, 0), True
        self._image: QImage | None = None
        self._overlay: QImage | None = None
        self._pending_overlay: QImage | None = None
        self.layers: list[ObjectLayer] = []
        self.points: list[tuple[float, float, int]] = []
        self.box: list[float] | None = None
        self.selected: int | None = None
        self._press: QPointF | None = None
        self._drag_box: tuple[QPointF, QPointF] | None = None
        self._drag_vertex: tuple[int, int, QPointF] | None = None
        self._pan: QPointF | None = None

    # content ------------------------------------------------------------------------------------------
    def set_frame(self, frame: np.ndarray | None) -> None:
        first = self._image is None
        self._image = rgb_image(frame) if frame is not None else None
        if first or self._fit:
            self.zoom_fit()
        self.update()

    def set_layers(self, layers: list[ObjectLayer]) -> None:
        self.layers = layers
        size = (self._image.height(), self._image.width()) if self._image else (0, 0)
        masks = [(layer.mask, layer.color) for layer in layers if layer.mask is not None and layer.mask.shape == size]
        self._overlay = overlay_image(masks, size, MASK_ALPHA) if size[0] else None
        if self.selected not in {layer.object_id for layer in layers}:
            self.selected = None
        self.update()

    def add_provisional_point(self, x: float, y: float, positive: bool) -> None:
        """Draw a click at once, before the model answers (set_pending replaces it with the real state)."""
        self.points.append((x, y, int(positive)))
        self.update()

    def set_provisional_box(self, box: list[float]) -> None:
        self.box = box
        self.update()

    def set_pending(self, mask: np.ndarray | None, points, box, color: tuple[int, int, int]) -> None:
        self.points, self.box = list(points), box
        size = (self._image.height(), self._image.width()) if self._image else (0, 0)
        usable = mask is not None and mask.shape == size
        self._pending_overlay = overlay_image([(mask, color)], size, PENDING_ALPHA) if usable else None
        self.update()

    # zoom and pan -------------------------------------------------------------------------------------
    @property
    def shows_pending_mask(self) -> bool:
        """True while the mask of the object being marked is drawn."""
        return self._pending_overlay is not None

    def zoom_fit(self) -> None:
        if self._image is None:
            return
        self._fit = True
        scale = min(self.width() / self._image.width(), self.height() / self._image.height())
        self._set_view(
            scale,
            QPointF(
                (self.width() - self._image.width() * scale) / 2, (self.height() - self._image.height() * scale) / 2
            ),
        )

    def zoom_actual(self) -> None:
        self.zoom_by(1.0 / self.scale, QPointF(self.width() / 2, self.height() / 2))

    def zoom_by(self, factor: float, anchor: QPointF) -> None:
        self._fit = False
        scale = max(0.05, min(40.0, self.scale * factor))
        image_point = self.to_image(anchor)
        self._set_view(scale, anchor - image_point * scale)

    def _set_view(self, scale: float, offset: QPointF) -> None:
        self.scale, self.offset = scale, offset
        self.update()

    def to_image(self, point: QPointF) -> QPointF:
        return (point - self.offset) / self.scale

    def to_widget(self, point: QPointF) -> QPointF:
        return point * self.scale + self.offset

    def resizeEvent(self, event) -> None:
        if self._fit:
            self.zoom_fit()
        super().resizeEvent(event)

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        self.zoom_by(1.15**steps, event.position())

    # mouse --------------------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        position = event.position()
        if event.button() in (Qt.MiddleButton, Qt.RightButton):
            self._pan = position
            return
        if event.button() != Qt.LeftButton or self._image is None:
            return
        self._press = position
        if self.edit_mode:
            hit = self._vertex_at(position)
            if hit and event.modifiers() & Qt.ShiftModifier:
                self.vertex_removed.emit(*hit)
            elif hit:
                self._drag_vertex = (*hit, self.to_image(position))
            else:
                self._select_at(position)

    def mouseMoveEvent(self, event) -> None:
        position = event.position()
        if self._pan is not None:
            self._fit = False
            self._set_view(self.scale, self.offset + (position - self._pan))
            self._pan = position
        elif self._drag_vertex is not None:
            object_id, index, _ = self._drag_vertex
            self._drag_vertex = (object_id, index, self.to_image(position))
            self.update()
        elif self._press is not None and not self.edit_mode:
            if (position - self._press).manhattanLength() > DRAG_START_PX or self._drag_box:
                self._drag_box = (self._press, position)
                self.update()

    def mouseReleaseEvent(self, event) -> None:
        position = event.position()
        if self._pan is not None and event.button() in (Qt.MiddleButton, Qt.RightButton):
            self._pan = None
            return
        if event.button() != Qt.LeftButton or self._press is None:
            return
        if self._drag_vertex is not None:
            object_id, index, point = self._drag_vertex
            self._keep_moved_vertex(object_id, index, point)
            self.vertex_moved.emit(object_id, index, point.x(), point.y())
        elif self._drag_box is not None:
            a, b = self.to_image(self._drag_box[0]), self.to_image(self._drag_box[1])
            self.box_drawn.emit(min(a.x(), b.x()), min(a.y(), b.y()), max(a.x(), b.x()), max(a.y(), b.y()))
        elif not self.edit_mode:
            point = self.to_image(position)
            positive = self.positive != bool(event.modifiers() & Qt.ShiftModifier)
            self.clicked.emit(point.x(), point.y(), positive)
        self._press, self._drag_box, self._drag_vertex = None, None, None
        self.update()

    def mouseDoubleClickEvent(self, event) -> None:
        if not self.edit_mode or self.selected is None:
            return
        layer = next((item for item in self.layers if item.object_id == self.selected and item.shape), None)
        if layer is None or layer.shape.shape_type != "polygon":
            return
        point = self.to_image(event.position())
        points = np.asarray(layer.shape.points, dtype=np.float64)
        nearest = min(
            range(len(points)), key=lambda i: _segment_distance(point, points[i], points[(i + 1) % len(points)])
        )
        self.vertex_inserted.emit(self.selected, nearest + 1, point.x(), point.y())

    def _keep_moved_vertex(self, object_id: int, index: int, point: QPointF) -> None:
        """Show the moved vertex where it was dropped until the saved shape comes back (no snapping back)."""
        for layer in self.layers:
            if layer.object_id == object_id and layer.shape is not None and index < len(layer.shape.points):
                layer.shape.points[index] = [point.x(), point.y()]

    def _vertex_at(self, position: QPointF) -> tuple[int, int] | None:
        """The vertex under the pointer, of the selected object's shape when one is selected."""
        for layer in self.layers:
            if layer.shape is None or (self.selected is not None and layer.object_id != self.selected):
                continue
            for index, (x, y) in enumerate(layer.shape.points):
                if (self.to_widget(QPointF(x, y)) - position).manhattanLength() <= VERTEX_GRAB_PX:
                    return layer.object_id, index
        return None

    def _select_at(self, position: QPointF) -> None:
        point = self.to_image(position)
        found = next(
            (
                item.object_id
                for item in reversed(self.layers)
                if item.shape and shape_polygon(item.shape).containsPoint(point, Qt.OddEvenFill)
            ),
            None,
        )
        self.selected = found
        self.selection_changed.emit(found)
        self.update()

    # painting -----------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(32, 32, 36))
        if self._image is None:
            painter.setPen(QColor(200, 200, 200))
            painter.drawText(
                self.rect(), Qt.AlignCenter, "Open a video (Ctrl+O) or a folder of frames or images (Ctrl+U)"
            )
            return
        target = QRectF(
            self.offset.x(), self.offset.y(), self._image.width() * self.scale, self._image.height() * self.scale
        )
        painter.drawImage(target, self._image)
        for overlay in (self._overlay, self._pending_overlay):
            if overlay is not None:
                painter.drawImage(target, overlay)
        painter.setRenderHint(QPainter.Antialiasing)
        for layer in self.layers:
            if layer.shape is not None:
                self._paint_shape(painter, layer)
        self._paint_prompts(painter)

    def _paint_shape(self, painter: QPainter, layer: ObjectLayer) -> None:
        points = [list(p) for p in layer.shape.points]
        if self._drag_vertex and self._drag_vertex[0] == layer.object_id:
            points[self._drag_vertex[1]] = [self._drag_vertex[2].x(), self._drag_vertex[2].y()]
        shape = Shape(layer.label, points, layer.shape.shape_type)
        polygon = QPolygonF([self.to_widget(p) for p in shape_polygon(shape)])
        selected = layer.object_id == self.selected
        painter.setPen(QPen(QColor(*layer.color), 3 if selected else 2))
        painter.setBrush(Qt.NoBrush)
        painter.drawPolygon(polygon)
        if polygon.size():
            painter.drawText(polygon[0] + QPointF(4, -6), f"{layer.label} #{layer.object_id}")
        if self.edit_mode and (selected or self.selected is None):
            painter.setBrush(QColor(255, 255, 255))
            last = None
            for x, y in points:  # one dot per VERTEX_SPACING_PX on screen: dense outlines stay readable
                at = self.to_widget(QPointF(x, y))
                if last is None or (at - last).manhattanLength() >= VERTEX_SPACING_PX:
                    painter.drawEllipse(at, 4, 4)
                    last = at

    def _paint_prompts(self, painter: QPainter) -> None:
        if self.box is not None:
            painter.setPen(QPen(QColor(255, 220, 0), 2))
            painter.setBrush(Qt.NoBrush)
            a, b = self.to_widget(QPointF(*self.box[:2])), self.to_widget(QPointF(*self.box[2:]))
            painter.drawRect(QRectF(a, b))
        if self._drag_box is not None:
            painter.setPen(QPen(QColor(255, 220, 0), 1, Qt.DashLine))
            painter.drawRect(QRectF(*self._drag_box).normalized())
        for x, y, label in self.points:
            center = self.to_widget(QPointF(x, y))
            painter.setPen(QPen(QColor(255, 255, 255), 1.5))
            painter.setBrush(POSITIVE if label else NEGATIVE)
            painter.drawEllipse(center, 6, 6)
            painter.drawLine(center - QPointF(3, 0), center + QPointF(3, 0))
            if label:
                painter.drawLine(center - QPointF(0, 3), center + QPointF(0, 3))


def _segment_distance(point: QPointF, a, b) -> float:
    p, a, b = np.array([point.x(), point.y()]), np.asarray(a), np.asarray(b)
    span = b - a
    t = 0.0 if not span.any() else float(np.clip(np.dot(p - a, span) / np.dot(span, span), 0, 1))
    return float(np.linalg.norm(p - (a + t * span)))
