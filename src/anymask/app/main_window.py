"""MainWindow: lays out the canvas, timeline, panels and toolbar, and connects them to the AppController."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
)

from ..vocabulary import OUTPUT_MODES
from .actions import TOOL_ICONS, build_actions, shortcut_rows
from .canvas import Canvas
from .controller import AppController
from .dialogs import FinenessBox
from .file_list import FileList
from .model_choice import ModelChoice, precision_label  # noqa: F401 - precision_label: the app's public name
from .panels import ObjectPanel, ReviewPanel
from .settings import AppSettings
from .timeline import Timeline
from .window_dialogs import WindowDialogs
from .worker import BUSY_WORDS, Task

TIMELINE_REFRESH_FRAMES = 10
VIDEO_FILTER = "Videos (*.mp4 *.avi *.mov *.mkv *.webm *.m4v *.mpg *.mpeg *.wmv *.flv *.ts);;All files (*)"
STATUS_CHARS = 160  # longer messages are cut with … and shown whole in the tooltip
ERROR_CHARS = 600  # errors wrap onto a second line rather than lose the fix at their end


class MainWindow(WindowDialogs, QMainWindow):
    def __init__(self, settings: AppSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or AppSettings()
        self.controller = AppController(self.settings)
        self.model_choice = ModelChoice(self.settings, self)
        self.canvas, self.timeline = Canvas(), Timeline()
        self.objects, self.review, self.files = ObjectPanel(), ReviewPanel(), FileList()
        self.hidden_objects: set[int] = set()
        self.last_error: str | None = None
        self.play_timer = QTimer(self)
        self.play_timer.timeout.connect(self._play_step)
        self._build_layout()
        self.actions = build_actions(self)
        self._build_toolbar()
        self._build_status_bar()
        self._connect()
        self.positive_mode()
        self._update_title()
        self.resize(1280, 820)

    shortcut_rows = staticmethod(shortcut_rows)

    # layout -------------------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        splitter = QSplitter(Qt.Vertical)
        splitter.addWidget(self.canvas)
        splitter.addWidget(self.timeline)
        splitter.setStretchFactor(0, 1)
        splitter.setCollapsible(0, False)
        self.setCentralWidget(splitter)
        tabs = QTabWidget()
        tabs.addTab(self.objects, "Objects")
        tabs.addTab(self.review, "Review")
        dock = QDockWidget("Project", self)
        dock.setWidget(tabs)
        dock.setFeatures(QDockWidget.DockWidgetMovable)
        self.addDockWidget(Qt.RightDockWidgetArea, dock)
        self.files_dock = QDockWidget("Images", self)
        self.files_dock.setWidget(self.files)
        self.files_dock.setFeatures(QDockWidget.DockWidgetMovable)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.files_dock)
        self.files_dock.hide()

    def _build_toolbar(self) -> None:
        bar = self.addToolBar("Tools")
        bar.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        for name, icon in TOOL_ICONS.items():
            self.actions[name].setIcon(self.style().standardIcon(icon))
        names = ("positive_mode", "negative_mode", "toggle_edit_mode", "finish_object", "clear", "undo", "redo")
        for name in (*names, "track_all", "track_dialog", "cancel_tracking"):
            bar.addAction(self.actions[name])
        bar.addSeparator()
        self.frame_box = QSpinBox()
        self.frame_box.setRange(1, 1)
        self.frame_box.setToolTip("Current frame (from 1); type a number and press Enter to go there")
        self.frame_box.setKeyboardTracking(False)
        self.frame_box.valueChanged.connect(lambda number: self.controller.set_frame(number - 1))
        self.frame_total = QLabel(" / 0 ")
        self.frame_word = QLabel(" Frame ")
        self.output_mode = QComboBox()
        self.output_mode.addItems(OUTPUT_MODES)
        self.output_mode.setCurrentText(str(self.settings.value("output_mode", "polygon")))
        self.output_mode.setToolTip("Output shape: polygon, rectangle, rotated box or mask")
        self.fineness = FinenessBox(float(self.settings.value("tolerance", 1.0)))
        self.model_button = QPushButton()
        self.model_button.setToolTip("The model: downloaded, loaded, or still to download (click to choose)")
        self.model_button.clicked.connect(self.model_dialog)
        for widget in (
            self.frame_word,
            self.frame_box,
            self.frame_total,
            QLabel(" Output "),
            self.output_mode,
            QLabel(" Fineness "),
            self.fineness,
            self.model_button,
        ):
            bar.addWidget(widget)
        self.show_model()

    def _build_status_bar(self) -> None:
        self.busy_label = QLabel()
        self.busy_label.setStyleSheet("color: #ffd24a; font-weight: bold;")
        self.message = QLabel()
        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #ff5a5a;")
        self.error_label.setWordWrap(True)  # an error keeps its fix: it wraps instead of running off the edge
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel tracking (Esc)")
        self.cancel_button.clicked.connect(self.controller.cancel_tracking)
        self.cancel_button.hide()
        self.statusBar().addWidget(self.busy_label)
        for widget in (self.message, self.error_label):
            self.statusBar().addWidget(widget, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)

    def _connect(self) -> None:
        c = self.controller
        c.opened.connect(self._opened)
        c.error.connect(self.show_error)
        c.status.connect(self.show_message)
        c.frame_shown.connect(self.show_frame)
        c.pending_changed.connect(self._show_pending)
        c.annotations_changed.connect(self.refresh_annotations)
        c.busy_changed.connect(self._busy_changed)
        c.tracking_changed.connect(self._tracking_changed)
        c.tracking_progress.connect(self._tracking_progress)
        c.export_progress.connect(self._export_progress)
        self.canvas.clicked.connect(self._clicked)
        self.canvas.box_drawn.connect(self._box_drawn)
        self.canvas.vertex_moved.connect(c.move_vertex)
        self.canvas.vertex_removed.connect(c.remove_vertex)
        self.canvas.vertex_inserted.connect(c.insert_vertex)
        self.canvas.selection_changed.connect(self._canvas_selected)
        self.timeline.frame_clicked.connect(c.set_frame)
        self.review.frame_requested.connect(c.set_frame)
        self.files.frame_requested.connect(c.set_frame)
        self.objects.relabel_requested.connect(c.relabel_object)
        self.objects.visibility_changed.connect(self._object_visibility)
        self.objects.remove_requested.connect(self.confirm_remove)
        self.objects.object_selected.connect(self._panel_selected)
        self.objects.correct_requested.connect(c.mark)
        self.output_mode.currentTextChanged.connect(self._output_changed)
        self.fineness.valueChanged.connect(self._output_changed)
        self._rebuild_recent()

    # opening ------------------------------------------------------------------------------------------
    def open_path(self, path: str | Path) -> bool:
        return self.controller.open_media(path)

    def open_video_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open video", "", VIDEO_FILTER)
        if path:
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of frames or images")
        if path:
            self.open_path(path)

    def _opened(self, path: str) -> None:
        self.clear_error()
        self.message.clear()
        self.frame_box.blockSignals(True)
        self.frame_box.setRange(1, max(1, self.controller.frame_count))
        self.frame_box.blockSignals(False)
        self.frame_total.setText(f" / {self.controller.frame_count} ")
        self._update_title()
        self.canvas.zoom_fit()
        self._rebuild_recent()
        self.show_model()

    def _rebuild_recent(self) -> None:
        menu = getattr(self, "_recent_menu", None)
        if menu is None:  # "Open recent" sits above Quit
            menu = self._recent_menu = self.menus["File"].addMenu("Open recent")
            self.menus["File"].insertMenu(self.actions["close"], menu)
        menu.clear()
        for path in self.settings.recent():
            menu.addAction(path, lambda p=path: self.open_path(p))
        menu.setEnabled(bool(self.settings.recent()))

    def show_model(self) -> None:
        self.model_button.setText(self.model_choice.button_text(self.controller.model_loaded))

    # drawing ------------------------------------------------------------------------------------------
    def show_frame(self, frame: int) -> None:
        image, layers = self.controller.frame_view(self.hidden_objects)
        self.canvas.set_frame(image)
        self.canvas.set_layers(layers)
        self.timeline.set_current(frame)
        self.files.set_current(frame)
        self.frame_box.blockSignals(True)
        self.frame_box.setValue(frame + 1)
        self.frame_box.blockSignals(False)
        self._show_pending()

    def refresh_annotations(self) -> None:
        c = self.controller
        if c.session is None:
            return
        self.objects.set_objects(c.object_rows(self.hidden_objects))
        self.timeline.set_rows(c.frame_count, c.timeline_rows())
        self.review.set_items(*c.review_items())
        images = c.images_mode
        self.files_dock.setVisible(images)
        self.timeline.setVisible(not images)  # separate images: the file list takes the timeline's place
        self.frame_word.setText(" Image " if images else " Frame ")
        self.actions["images_mode"].setChecked(not images)
        for name in ("track_all", "track_dialog", "track_backward", "track_both"):
            self.actions[name].setEnabled(not images)
        if images:
            self.files.set_files(*c.file_rows(), c.frame)
        self.refresh_layers()
        self._update_title()

    def refresh_layers(self) -> None:
        self.canvas.set_layers(self.controller.frame_layers(self.hidden_objects))

    def _show_pending(self) -> None:
        c = self.controller
        if c.session is None:
            return
        points, box, mask = c.pending_prompts
        self.canvas.set_pending(mask, points, box, (255, 255, 255) if c.marking is None else (0, 200, 255))
        self._update_title()

    def _update_title(self) -> None:
        c = self.controller
        if c.session is None:
            self.setWindowTitle("anymask")
            return
        if c.tracking:
            state = "tracking; every tracked frame is saved"
        elif c.worker.busy:
            state = "working…"
        elif c.marking is not None:
            state = f"marking object {c.marking}: F finishes it (not saved yet)"
        else:
            state = "all changes saved"
        kind = "image" if c.images_mode else "frame"
        self.setWindowTitle(f"anymask — {c.media_path.name} — {kind} {c.frame + 1}/{c.frame_count} — {state}")

    def show_error(self, message: str) -> None:
        self.last_error = message
        self.error_label.setText(_cut(message, ERROR_CHARS))
        self.error_label.setToolTip(message)

    def clear_error(self) -> None:
        self.last_error = None
        self.error_label.clear()
        self.error_label.setToolTip("")

    def show_message(self, message: str) -> None:
        self.clear_error()
        self.message.setText(_cut(message))
        self.message.setToolTip(message)

    # the person's input -------------------------------------------------------------------------------
    def _clicked(self, x: float, y: float, positive: bool) -> None:
        if self.ensure_model():
            self.canvas.add_provisional_point(x, y, positive)  # drawn now; the mask follows
            self.message.setText(f"point at ({x:.0f}, {y:.0f}): computing the mask…")
            self.controller.click(x, y, positive)

    def _box_drawn(self, *box: float) -> None:
        if self.ensure_model():
            self.canvas.set_provisional_box(list(box))
            self.controller.box(*box)

    def _canvas_selected(self, object_id) -> None:
        self.objects.select(object_id)

    def _panel_selected(self, object_id) -> None:
        self.canvas.selected = object_id
        self.canvas.update()

    # actions (names in actions.ACTIONS) ---------------------------------------------------------------
    def positive_mode(self) -> None:
        self._set_point_mode(True)

    def negative_mode(self) -> None:
        self._set_point_mode(False)

    def _set_point_mode(self, positive: bool) -> None:
        self.controller.positive = self.canvas.positive = positive
        self.actions["positive_mode"].setChecked(positive)
        self.actions["negative_mode"].setChecked(not positive)

    def toggle_edit_mode(self) -> None:
        self.canvas.edit_mode = self.controller.edit_mode = self.actions["toggle_edit_mode"].isChecked()
        self.canvas.update()

    def delete_selected_shape(self) -> None:
        if self.canvas.edit_mode and self.canvas.selected is not None:
            self.controller.delete_shape(self.canvas.selected)

    def images_mode(self) -> None:
        """View > Track through this folder: a folder of images as the frames of one video, or back."""
        self.controller.set_images_mode(not self.actions["images_mode"].isChecked())

    def toggle_play(self) -> None:
        if self.play_timer.isActive() or self.controller.session is None:
            self.play_timer.stop()
            return
        fps = self.controller.fps
        self.play_timer.start(int(1000 / min(30.0, max(1.0, fps))))

    def _play_step(self) -> None:
        if self.controller.frame >= self.controller.frame_count - 1:
            self.play_timer.stop()
        else:
            self.controller.step(1)

    # toolbar and panels -------------------------------------------------------------------------------
    def _output_changed(self, *_) -> None:
        mode, tolerance = self.output_mode.currentText(), self.fineness.value()
        self.settings.set_value("output_mode", mode)
        self.settings.set_value("tolerance", tolerance)
        self.controller.set_output(mode, tolerance)

    def _object_visibility(self, object_id: int, shown: bool) -> None:
        (self.hidden_objects.discard if shown else self.hidden_objects.add)(object_id)
        self.refresh_layers()

    def _busy_changed(self, busy: bool) -> None:
        task = self.controller.worker.current
        self.busy_label.setText(f"● {BUSY_WORDS.get(task, 'working…')}" if busy else "")
        if busy and task in (Task.CLICK, Task.BOX, Task.MARK, Task.MODEL):
            self.canvas.setCursor(Qt.BusyCursor)
        else:
            self.canvas.unsetCursor()
        if busy and task == Task.EXPORT:
            self.progress.setValue(0)
            self.progress.show()
        elif not busy and not self.controller.tracking:
            self.progress.hide()
        self.show_model()
        self._update_title()

    def _tracking_changed(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        if running:
            self.progress.setValue(0)
        self._update_title()

    def _tracking_progress(self, frame: int, done: int, total: int, fps: float, left: str) -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        if done % TIMELINE_REFRESH_FRAMES == 0:
            self.refresh_annotations()  # the timeline and review list grow while tracking runs
        speed = f"{fps:.1f} frames/s" if fps >= 1 else f"{1 / max(fps, 1e-6):.1f} s/frame"
        self.message.setText(f"tracking: frame {frame + 1}, {done} of {total} done, {speed}, about {left} left")

    def _export_progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(max(1, total))
        self.progress.setValue(done)
        self.message.setText(f"exporting: frame {done} of {total}")

    def closeEvent(self, event) -> None:
        self.play_timer.stop()
        self.controller.shutdown()
        super().closeEvent(event)


def _cut(message: str, limit: int = STATUS_CHARS) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"
