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
    QSplitter,
    QTabWidget,
)

from ..errors import AnymaskError
from ..models.hub import REGISTRY, find_cached, get_spec
from ..vocabulary import OUTPUT_MODES
from . import project_view
from .actions import build_actions, shortcut_rows
from .canvas import Canvas
from .controller import AppController
from .dialogs import DownloadDialog, ExportDialog, FinenessBox, ImportDialog, ModelDialog, ShortcutSheet
from .label_dialog import LabelManagerDialog
from .panels import ObjectPanel, ReviewPanel
from .settings import AppSettings
from .timeline import Timeline
from .worker import Task

TIMELINE_REFRESH_FRAMES = 10
VIDEO_FILTER = "Videos (*.mp4 *.avi *.mov *.mkv *.webm *.m4v *.mpg *.mpeg *.wmv *.flv *.ts);;All files (*)"


def precision_label(model: dict) -> str:
    """'auto: fp32' (what auto resolves to on the chosen device), or the explicit precision."""
    if model["precision"] != "auto":
        return model["precision"]
    from ..models.precision import resolve_precision

    try:
        return f"auto: {resolve_precision('auto', model['device']).precision}"
    except (AnymaskError, RuntimeError):  # a device name torch does not know: the model dialog says why
        return "auto"


class MainWindow(QMainWindow):
    def __init__(self, settings: AppSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or AppSettings()
        self.controller = AppController(self.settings)
        self.canvas, self.timeline = Canvas(), Timeline()
        self.objects, self.review = ObjectPanel(), ReviewPanel()
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

    def _build_toolbar(self) -> None:
        bar = self.addToolBar("Tools")
        for name in (
            "positive_mode",
            "negative_mode",
            "toggle_edit_mode",
            "finish",
            "clear",
            "undo",
            "redo",
            "track",
            "cancel_tracking",
        ):
            bar.addAction(self.actions[name])
        bar.addSeparator()
        self.output_mode = QComboBox()
        self.output_mode.addItems(OUTPUT_MODES)
        self.output_mode.setCurrentText(str(self.settings.value("output_mode", "polygon")))
        self.output_mode.setToolTip("Output shape: polygon, rectangle, rotated box or mask")
        self.fineness = FinenessBox(float(self.settings.value("tolerance", 1.0)))
        self.model_button = QPushButton()
        self.model_button.clicked.connect(self.model_dialog)
        for widget in (QLabel(" Output "), self.output_mode, QLabel(" Fineness "), self.fineness, self.model_button):
            bar.addWidget(widget)
        self._show_model()

    def _build_status_bar(self) -> None:
        self.message = QLabel()
        self.error_label = QLabel()
        self.error_label.setStyleSheet("color: #ff5a5a;")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel tracking")
        self.cancel_button.clicked.connect(self.controller.cancel_tracking)
        self.cancel_button.hide()
        for widget in (self.message, self.error_label):
            self.statusBar().addWidget(widget, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)

    def _connect(self) -> None:
        c = self.controller
        c.opened.connect(lambda path: (self._update_title(), self.canvas.zoom_fit(), self._rebuild_recent()))
        c.error.connect(self.show_error)
        c.status.connect(self.show_message)
        c.frame_shown.connect(self.show_frame)
        c.pending_changed.connect(self._show_pending)
        c.annotations_changed.connect(self.refresh_annotations)
        c.busy_changed.connect(lambda busy: self._update_title())
        c.tracking_changed.connect(self._tracking_changed)
        c.tracking_progress.connect(self._tracking_progress)
        self.canvas.clicked.connect(lambda x, y, positive: self.ensure_model() and c.click(x, y, positive))
        self.canvas.box_drawn.connect(lambda *box: self.ensure_model() and c.box(*box))
        self.canvas.vertex_moved.connect(
            lambda o, i, x, y: self._edit(lambda s: s.edit.move_vertex(c.frame, o, i, x, y))
        )
        self.canvas.vertex_removed.connect(lambda o, i: self._edit(lambda s: s.edit.remove_vertex(c.frame, o, i)))
        self.canvas.vertex_inserted.connect(
            lambda o, i, x, y: self._edit(lambda s: s.edit.insert_vertex(c.frame, o, i, x, y))
        )
        self.timeline.frame_clicked.connect(c.set_frame)
        self.review.frame_requested.connect(c.set_frame)
        self.objects.relabel_requested.connect(lambda o, label: self._edit(lambda s: s.labels.relabel_object(o, label)))
        self.objects.visibility_changed.connect(self._object_visibility)
        self.objects.remove_requested.connect(lambda o: self._edit(lambda s: s.remove_object(o)))
        self.objects.object_selected.connect(c.mark)
        self.output_mode.currentTextChanged.connect(self._output_changed)
        self.fineness.valueChanged.connect(self._output_changed)
        self._rebuild_recent()

    def _edit(self, function) -> None:
        session = self.controller.session
        self.controller.run(Task.EDIT, lambda: function(session))

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

    def _rebuild_recent(self) -> None:
        menu = getattr(self, "_recent_menu", None) or self.menus["File"].addMenu("Open recent")
        self._recent_menu = menu
        menu.clear()
        for path in self.settings.recent():
            menu.addAction(path, lambda p=path: self.open_path(p))

    # model --------------------------------------------------------------------------------------------
    def model_dialog(self) -> None:
        dialog = ModelDialog(self.settings.model(), self)
        if dialog.exec():
            self.choose_model(dialog.choice())

    def choose_model(self, choice: dict) -> bool:
        """Remember the model (downloading it first, with a progress dialog, if it is a name not cached yet)."""
        spec = choice["spec"]
        if not spec:
            self.show_error("choose a model or a checkpoint file")
            return False
        if spec in REGISTRY or spec.lower() in REGISTRY:
            if find_cached(get_spec(spec)) is None:
                download = DownloadDialog(spec, self)
                download.start()
                if not download.exec():
                    self.show_error(download.error or f"{spec}: download cancelled")
                    return False
        elif not Path(spec).is_file():
            self.show_error(f"{spec}: no such checkpoint file")
            return False
        self.settings.set_model(spec, choice["precision"], choice["device"])
        session = self.controller.session
        if session is not None:
            self.controller.run(Task.MODEL, lambda: session.set_model(spec, choice["precision"], choice["device"]))
        self._show_model()
        return True

    def ensure_model(self) -> bool:
        """Before the first click: a model name not downloaded yet is downloaded with a progress dialog."""
        session = self.controller.session
        if session is None or session.model_available:
            return True
        spec = str(session.model_spec)
        if spec in REGISTRY or spec.lower() in REGISTRY:
            return self.choose_model(self.settings.model())
        self.show_error(f"{spec}: no such checkpoint file (File > Choose model…)")
        return False

    def _show_model(self) -> None:
        model = self.settings.model()
        self.model_button.setText(f"Model: {Path(model['spec']).name} ({precision_label(model)}, {model['device']})")

    # drawing ------------------------------------------------------------------------------------------
    def show_frame(self, frame: int) -> None:
        self.canvas.set_frame(self.controller.frame_image())
        self.timeline.set_current(frame)
        self.refresh_layers()
        self._show_pending()
        self._update_title()

    def refresh_annotations(self) -> None:
        session = self.controller.session
        if session is None:
            return
        self.objects.set_objects(project_view.object_rows(session, self.hidden_objects))
        self.timeline.set_rows(len(session.source), project_view.timeline_rows(session))
        self.review.set_items(session.review_items(), session.store.objects())
        self.refresh_layers()
        self._update_title()

    def refresh_layers(self) -> None:
        session = self.controller.session
        if session is not None:
            self.canvas.set_layers(project_view.frame_layers(session, self.controller.frame, self.hidden_objects))

    def _show_pending(self) -> None:
        session = self.controller.session
        if session is None:
            return
        points, box, mask = session.pending_prompts
        self.canvas.set_pending(mask, points, box, (255, 255, 255) if session.marking is None else (0, 200, 255))
        self._update_title()

    def _update_title(self) -> None:
        c = self.controller
        if c.session is None:
            self.setWindowTitle("anymask")
            return
        if c.session.marking is not None:
            state = "marking an object: F finishes it (not saved yet)"
        elif c.worker.busy or c.tracking:
            state = "saving…"
        else:
            state = "all changes saved"
        self.setWindowTitle(f"anymask — {c.session.media_path.name} — frame {c.frame + 1}/{c.frame_count} — {state}")

    def show_error(self, message: str) -> None:
        self.last_error = message
        self.error_label.setText(message)

    def show_message(self, message: str) -> None:
        self.error_label.clear()
        self.message.setText(message)

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
        selected, frame = self.canvas.selected, self.controller.frame
        if self.canvas.edit_mode and selected is not None:
            self._edit(lambda s: s.edit.delete_shape(frame, selected))

    def toggle_play(self) -> None:
        if self.play_timer.isActive() or self.controller.session is None:
            self.play_timer.stop()
            return
        fps = float(getattr(self.controller.session.source, "fps", 25.0) or 25.0)
        self.play_timer.start(int(1000 / min(30.0, max(1.0, fps))))

    def _play_step(self) -> None:
        if self.controller.frame >= self.controller.frame_count - 1:
            self.play_timer.stop()
        else:
            self.controller.step(1)

    def label_manager(self) -> LabelManagerDialog | None:
        session = self.controller.session
        if session is None:
            self.show_error("open a video or a folder first (Ctrl+O, Ctrl+U)")
            return None
        dialog = LabelManagerDialog(
            lambda: list(session.store.labels()), lambda name, f: self.controller.run(name, lambda: f(session)), self
        )
        self.controller.annotations_changed.connect(dialog.refresh)
        dialog.show()
        return dialog

    def export_dialog(self) -> None:
        session = self.controller.session
        if session is None:
            self.show_error("open a video or a folder first (Ctrl+O, Ctrl+U)")
            return
        dialog = ExportDialog(
            session.store.folder.parent / f"{session.media_path.name}.export", session.output_mode, self
        )
        if dialog.exec():
            self.export(*dialog.choice())

    def export(self, format_name: str, mode: str, folder: Path) -> None:
        self.controller.export(format_name, mode, folder)

    def import_dialog(self) -> None:
        session = self.controller.session
        if session is None:
            self.show_error("open the video or folder the annotations belong to first (Ctrl+O, Ctrl+U)")
            return
        dialog = ImportDialog(session.media_path.parent, self)
        if dialog.exec():
            self.controller.import_annotations(*dialog.choice())

    def shortcut_sheet(self) -> None:
        ShortcutSheet(shortcut_rows(), self).show()

    # toolbar and panels -------------------------------------------------------------------------------
    def _output_changed(self, *_) -> None:
        mode, tolerance = self.output_mode.currentText(), self.fineness.value()
        self.settings.set_value("output_mode", mode)
        self.settings.set_value("tolerance", tolerance)
        session = self.controller.session
        if session is not None:
            self.controller.run(Task.OUTPUT, lambda: session.set_output_mode(mode, tolerance))

    def _object_visibility(self, object_id: int, shown: bool) -> None:
        (self.hidden_objects.discard if shown else self.hidden_objects.add)(object_id)
        self.refresh_layers()

    def _tracking_changed(self, running: bool) -> None:
        self.progress.setVisible(running)
        self.cancel_button.setVisible(running)
        if running:
            self.progress.setValue(0)
        self._update_title()

    def _tracking_progress(self, frame: int, done: int, total: int, fps: float) -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        if done % TIMELINE_REFRESH_FRAMES == 0:
            self.refresh_annotations()  # the timeline and review list grow while tracking runs
        left = (total - done) / fps if fps > 0 else 0
        self.message.setText(f"tracking: frame {frame + 1}, {done}/{total}, {fps:.2f} fps, about {left:.0f} s left")

    def closeEvent(self, event) -> None:
        self.play_timer.stop()
        self.controller.shutdown()
        super().closeEvent(event)
