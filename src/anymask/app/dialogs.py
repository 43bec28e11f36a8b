"""Dialogs: model picker, model download with progress and cancel, export, and the shortcut sheet."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ..errors import AnymaskError
from ..formats import EXPORT_FORMATS, guess_format
from ..formats.detect import LABEL_FILE_FAMILY
from ..models.hub import REGISTRY, find_cached, get_spec
from ..models.loading import looks_like_path
from ..vocabulary import OUTPUT_MODES

LOCAL_FILE = "Local checkpoint file…"
PRECISION_CHOICES = (
    ("auto", "Auto (bf16 where the hardware computes it natively, else fp32)"),
    ("fp32", "fp32 (exact)"),
    ("bf16", "bf16 (fast on GPUs and CPUs with native BF16)"),
    ("fast", "Fast (CPUs without BF16: int8 and fewer memory frames, approximate)"),
)


def available_devices(current: str = "cpu") -> list[str]:
    """cpu, and cuda only where torch sees a GPU (or it is the remembered choice, so the dialog can say why)."""
    import torch

    devices = ["cpu"]
    if torch.cuda.is_available() or current.startswith("cuda"):
        devices.append("cuda")
    return devices


def _buttons(dialog: QDialog) -> QDialogButtonBox:
    buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


class ModelDialog(QDialog):
    """EdgeTAM, SAM 2 / 2.1 in four sizes (marked when cached) or a local checkpoint file; precision and device."""

    def __init__(self, current: dict, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose the model")
        self.variant = QComboBox()
        for spec in REGISTRY.values():
            cached = " (downloaded)" if find_cached(spec) else f" ({spec.approx_mb} MB download)"
            self.variant.addItem(spec.name + cached, spec.name)
        self.variant.addItem(LOCAL_FILE, LOCAL_FILE)
        self.model_note = QLabel()  # the chosen model's trade-off, when the registry has one
        self.model_note.setWordWrap(True)
        self.variant.currentIndexChanged.connect(self._explain_model)
        self.path = QLineEdit()
        self.path.textEdited.connect(lambda text: text.strip() and self.use_file(text))  # typing picks the file
        browse = QPushButton("Browse…")
        browse.setAutoDefault(False)  # Enter accepts the dialog instead of browsing again
        browse.clicked.connect(self._browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.path)
        file_row.addWidget(browse)
        self.precision = QComboBox()
        for name, words in PRECISION_CHOICES:
            self.precision.addItem(words, name)
        self.precision_note = QLabel()
        self.precision_note.setWordWrap(True)
        self.device = QComboBox()
        self.device.addItems(available_devices(current.get("device", "cpu")))
        self.device.currentTextChanged.connect(self._explain_precision)
        self.precision.currentIndexChanged.connect(self._explain_precision)
        form = QFormLayout(self)
        form.addRow("Model", self.variant)
        form.addRow("", self.model_note)
        form.addRow("Checkpoint file", file_row)
        form.addRow("Precision", self.precision)
        form.addRow("", self.precision_note)
        form.addRow("Device", self.device)
        form.addRow(_buttons(self))
        spec = current.get("spec", "sam2.1-tiny")
        if looks_like_path(spec):
            self.variant.setCurrentIndex(self.variant.findData(LOCAL_FILE))
            self.path.setText(spec)
        elif self.variant.findData(spec) >= 0:
            self.variant.setCurrentIndex(self.variant.findData(spec))
        saved = self.precision.findData(current.get("precision", "auto"))
        self.precision.setCurrentIndex(max(0, saved))
        self.device.setCurrentText(current.get("device", "cpu"))
        self._explain_precision()
        self._explain_model()

    def _explain_model(self) -> None:
        spec = REGISTRY.get(self.variant.currentData())
        self.model_note.setText(spec.summary if spec is not None else "")
        self.model_note.setVisible(bool(self.model_note.text()))

    def _explain_precision(self) -> None:
        """Say what Auto picks on this device and why (or why an explicit choice is slow here)."""
        try:
            from ..models.precision import cpu_speed_tip, resolve_precision

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                auto = resolve_precision("auto", self.device.currentText())
                text = f"Auto picks {auto.precision} here: {auto.reason}."
                if self.precision.currentData() == "bf16" and auto.precision != "bf16":
                    text += " bf16 will be much slower than fp32 on this device."
                if self.precision.currentData() == "fast" and auto.precision == "bf16":
                    text += " Fast is slower than Auto on this device, and approximate."
                if cpu_speed_tip(self.device.currentText(), auto.precision, edgetam=False):
                    text += " SAM 2 then runs at about the official speed; EdgeTAM tracks about 5x faster here."
        except AnymaskError as exc:
            text = str(exc)
        self.precision_note.setText(text)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "SAM 2 checkpoint", "", "Checkpoints (*.pt *.pth);;All files (*)")
        if path:
            self.use_file(path)

    def use_file(self, path: str) -> None:
        self.variant.setCurrentIndex(self.variant.findData(LOCAL_FILE))
        if self.path.text() != path:
            self.path.setText(path)

    def choice(self) -> dict:
        spec = self.path.text().strip() if self.variant.currentData() == LOCAL_FILE else self.variant.currentData()
        return {"spec": spec, "precision": self.precision.currentData(), "device": self.device.currentText()}


class _DownloadSignals(QObject):
    progress = Signal(int, int)  # bytes done, total (0: unknown)
    done = Signal(str, str)  # path, error


class DownloadDialog(QDialog):
    """Downloads a model into the cache in a thread; Cancel stops it and keeps the partial file for later."""

    def __init__(self, name: str, parent=None) -> None:
        super().__init__(parent)
        self.spec = get_spec(name)
        self.setWindowTitle(f"Downloading {self.spec.name}")
        self.bar = QProgressBar()
        self.label = QLabel(f"{self.spec.name}: about {self.spec.approx_mb} MB")
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.cancel)
        layout = QVBoxLayout(self)
        for widget in (self.label, self.bar, cancel):
            layout.addWidget(widget)
        self.path: str | None = None
        self.error: str | None = None
        self._cancelled = threading.Event()
        self._signals = _DownloadSignals()
        self._signals.progress.connect(self._show_progress)
        self._signals.done.connect(self._finish)

    def start(self) -> None:
        threading.Thread(target=self._run, name="anymask-download", daemon=True).start()

    def cancel(self) -> None:
        self._cancelled.set()

    def _run(self) -> None:
        from ..models.hub import ensure_checkpoint

        def report(done: int, total: int | None) -> bool:
            self._signals.progress.emit(done, total or 0)
            return not self._cancelled.is_set()

        try:
            path = ensure_checkpoint(self.spec.name, download=True, progress=report)
            self._signals.done.emit(str(path), "")
        except AnymaskError as exc:
            self._signals.done.emit("", str(exc))

    def _show_progress(self, done: int, total: int) -> None:
        self.bar.setMaximum(max(1, total // 1024) if total else 0)
        self.bar.setValue(done // 1024)
        self.label.setText(
            f"{self.spec.name}: {done / 2**20:.1f} of {total / 2**20:.1f} MB"
            if total
            else f"{self.spec.name}: {done / 2**20:.1f} MB"
        )

    def _finish(self, path: str, error: str) -> None:
        self.path, self.error = path or None, error or None
        self.accept() if path else self.reject()


class ExportDialog(QDialog):
    def __init__(self, default_folder: Path, mode: str, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export dataset")
        self.format = QComboBox()
        self.format.addItems(EXPORT_FORMATS)
        self.mode = QComboBox()
        self.mode.addItems(OUTPUT_MODES)
        self.mode.setCurrentText(mode)
        self.folder = QLineEdit(str(default_folder))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder)
        row.addWidget(browse)
        form = QFormLayout(self)
        self.empty_frames = QCheckBox("Also write frames without objects (YOLO, VOC, X-AnyLabeling, Label Studio)")
        form.addRow("Format", self.format)
        form.addRow("Shapes", self.mode)
        form.addRow("Folder", row)
        form.addRow("", self.empty_frames)
        form.addRow(_buttons(self))

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export to", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def choice(self) -> tuple[str, str, Path, bool]:
        fmt = self.format.currentText()
        return fmt, self.mode.currentText(), Path(self.folder.text()) / fmt, self.empty_frames.isChecked()


class TrackDialog(QDialog):
    """Where to track from the current frame: to the end (or start), the next N frames, or to frame N."""

    def __init__(self, frame: int, frame_count: int, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Track")
        self.frame, self.frame_count = frame, frame_count
        self.direction = QComboBox()
        self.direction.addItem("forward", "forward")
        self.direction.addItem("backward", "backward")
        self.direction.addItem("both ways (to both ends)", "both")
        self.stretch = QComboBox()
        self.stretch.addItem("to the end of the video", "end")
        self.stretch.addItem("the next N frames", "next")
        self.stretch.addItem("to frame N", "to")
        self.count = QSpinBox()
        self.count.setRange(1, max(1, frame_count))
        self.count.setValue(min(20, max(1, frame_count - 1)))
        self.direction.currentIndexChanged.connect(self._sync)
        self.stretch.currentIndexChanged.connect(self._sync)
        form = QFormLayout(self)
        form.addRow(QLabel(f"From frame {frame + 1} of {frame_count}; frames outside the stretch stay as they are."))
        form.addRow("Direction", self.direction)
        form.addRow("How far", self.stretch)
        form.addRow("N", self.count)
        form.addRow(_buttons(self))
        self._sync()

    def _sync(self) -> None:
        both = self.direction.currentData() == "both"
        self.stretch.setEnabled(not both)
        self.count.setEnabled(not both and self.stretch.currentData() != "end")

    def choice(self) -> tuple[str, int, int | None]:
        """(direction, start, end) in 0-based frames; end None: to the end (or the start, backward)."""
        direction, stretch, n = self.direction.currentData(), self.stretch.currentData(), self.count.value()
        if direction == "both" or stretch == "end":
            return direction, self.frame, None
        step = 1 if direction == "forward" else -1
        end = self.frame + step * n if stretch == "next" else n - 1
        return direction, self.frame, max(0, min(self.frame_count - 1, end))


IMPORT_HINTS = {
    "xanylabeling": "a folder of X-AnyLabeling JSON files",
    "labelme": "a folder of labelme JSON files",
    "coco": "a COCO instances JSON, or a folder with annotations/instances_*.json",
    "yolo": "a YOLO dataset folder (data.yaml; labels/, or Roboflow's <split>/labels/) or its data.yaml",
    "davis": "a folder of palette PNG masks, or a DAVIS root with one sequence",
    "mot": "a MOT sequence folder (gt/gt.txt) or gt.txt",
    "mots": "a MOTS sequence folder (gt/gt.txt) or gt.txt (MOTSChallenge, KITTI MOTS)",
    "voc": "a Pascal VOC root (Annotations/*.xml) or a folder of VOC XML files; boxes",
    "youtube-vis": "a YouTube-VIS instances JSON of one video, or its folder",
    "cvat": "a CVAT XML file (for video or for images)",
    "label-studio": "a Label Studio JSON export (image tasks, or a video task's box tracks)",
}


class ImportDialog(QDialog):
    """Another tool's annotations to add to the open project: a format and a file or folder."""

    def __init__(self, start: Path, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import annotations")
        self.format = QComboBox()
        self.format.addItems(IMPORT_HINTS)
        self.hint = QLabel()
        self.path = QLineEdit(str(start))
        self.path.editingFinished.connect(self._guess_format)
        self.format.currentTextChanged.connect(lambda name: self.hint.setText(IMPORT_HINTS[name]))
        self.hint.setText(IMPORT_HINTS[self.format.currentText()])
        browse = QPushButton("Browse…")
        browse.setAutoDefault(False)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path)
        row.addWidget(browse)
        form = QFormLayout(self)
        form.addRow("Format", self.format)
        form.addRow("", self.hint)
        form.addRow("File or folder", row)
        form.addRow(QLabel("Imported objects are added as new objects; nothing already annotated is replaced."))
        form.addRow(_buttons(self))

    def _browse(self) -> None:
        if self.format.currentText() in ("coco", "cvat", "mot", "mots", "youtube-vis", "label-studio"):
            chosen, _ = QFileDialog.getOpenFileName(
                self, "Annotations", self.path.text(), "Annotations (*.json *.xml *.txt)"
            )
        else:
            chosen = QFileDialog.getExistingDirectory(self, "Annotations", self.path.text())
        if chosen:
            self.path.setText(chosen)
            self._guess_format()

    def _guess_format(self) -> None:
        """Switch to the format the chosen file or folder looks like; the user can still change it."""
        guess = guess_format(Path(self.path.text()))
        if guess is not None and not {guess, self.format.currentText()} <= LABEL_FILE_FAMILY:
            self.format.setCurrentText(guess)

    def choice(self) -> tuple[str, Path]:
        return self.format.currentText(), Path(self.path.text())


class FinenessBox(QDoubleSpinBox):
    """Polygon fineness: the simplification tolerance in pixels (0 keeps every boundary pixel)."""

    def __init__(self, value: float, parent=None) -> None:
        super().__init__(parent)
        self.setRange(0.0, 20.0)
        self.setSingleStep(0.5)
        self.setValue(value)
        self.setSuffix(" px")
        self.setToolTip("Mask fineness: polygon tolerance in pixels (0 = every boundary pixel)")


class ShortcutSheet(QDialog):
    def __init__(self, rows: list[tuple[str, str]], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        table = QTableWidget(len(rows), 2)
        table.setHorizontalHeaderLabels(["Keys", "Action"])
        for index, (keys, text) in enumerate(rows):
            table.setItem(index, 0, QTableWidgetItem(keys))
            table.setItem(index, 1, QTableWidgetItem(text))
        table.resizeColumnsToContents()
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        self.resize(460, 520)
