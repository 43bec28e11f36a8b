"""What the app tests share: a 4-frame clip and fresh settings (fixtures), opening and activating the window,
waiting for the model thread, answering modal dialogs, and reading the store's masks."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtWidgets import QApplication

from anymask.app.dialogs import ModelDialog
from anymask.app.label_dialog import LabelPrompt
from anymask.app.main_window import MainWindow
from anymask.app.settings import AppSettings

from conftest import write_clip

WAIT_MS = 180_000


@pytest.fixture(name="clip")
def clip_fixture(media_dir, tmp_path):
    return write_clip(media_dir, tmp_path / "clip", count=4, step=3)


@pytest.fixture(name="settings")
def settings_fixture(tmp_path):
    return AppSettings(str(tmp_path / "settings.ini"))


def open_window(qtbot, settings) -> MainWindow:
    window = MainWindow(settings)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    activate(qtbot, window)
    return window


def activate(qtbot, window) -> None:
    """Keys reach the window's shortcuts only while it is the active window (offscreen too)."""
    window.activateWindow()
    window.windowHandle().requestActivate()
    # isActiveWindow, not QApplication.activeWindow() is window: on Python 3.11 the many None results of
    # the latter while waiting hit a PySide6 refcount bug ("deallocating None") and abort the process
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)


def at(window, x, y) -> QPoint:
    return window.canvas.to_widget(QPointF(x, y)).toPoint()


def settle(qtbot, window, condition=lambda: True):
    controller = window.controller
    qtbot.waitUntil(lambda: not controller.worker.busy and not controller.tracking and condition(), timeout=WAIT_MS)
    QApplication.processEvents()


def when_modal(callback, tries: int = 200) -> None:
    """Call `callback(dialog)` once a modal dialog is up (polled every 50 ms, no fixed delay)."""

    def check(left: int) -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is not None or left == 0:
            callback(dialog)
        else:
            QTimer.singleShot(50, lambda: check(left - 1))

    QTimer.singleShot(0, lambda: check(tries))


def press_f(qtbot, window, label: str | None):
    """F on a new object opens the label prompt: type `label` (None: keep the suggestion) and accept."""

    def fill(dialog):
        assert isinstance(dialog, LabelPrompt), dialog
        if label is not None:
            dialog.label.setEditText(label)
        dialog.accept()

    when_modal(fill)
    qtbot.keyClick(window, Qt.Key_F)
    activate(qtbot, window)


def window_marking(qtbot, settings, clip, checkpoint) -> tuple[MainWindow, object]:
    """A window on `clip` with a click made on frame 1: object 1 is being marked."""
    settings.set_model(str(checkpoint), "auto", "cpu")
    window = open_window(qtbot, settings)
    assert window.open_path(clip)
    session = window.controller.session
    qtbot.mouseClick(window.canvas, Qt.LeftButton, pos=at(window, 300, 200))
    settle(qtbot, window, lambda: session.marking == 1)
    return window, session


def pick_model_file(qtbot, window, checkpoint):
    def fill(dialog):
        assert isinstance(dialog, ModelDialog)
        dialog.use_file(str(checkpoint))
        dialog.precision.setCurrentIndex(dialog.precision.findData("auto"))
        dialog.accept()

    when_modal(fill)
    window.model_dialog()  # modal: the timer fills it in
    activate(qtbot, window)
    assert window.settings.model() == {"spec": str(checkpoint), "precision": "auto", "device": "cpu"}


def masks(store) -> dict:
    return {f: {m.object_id: (json.dumps(m.rle), m.source) for m in store.masks(f)} for f in store.annotated_frames()}
