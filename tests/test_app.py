"""The desktop app driven through its real window (offscreen): open, pick the model file, click, finish,
track, correct, undo, relabel, export, reopen; and errors shown in the window instead of a crash."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QPushButton

from anymask.app.dialogs import ModelDialog
from anymask.app.settings import AppSettings

from app_support import (  # noqa: F401 - clip_fixture, settings_fixture: the fixtures clip and settings
    WAIT_MS,
    activate,
    at,
    clip_fixture,
    masks,
    open_window,
    pick_model_file,
    press_f,
    settings_fixture,
    settle,
    when_modal,
    window_marking,
)
from conftest import step, write_clip


@pytest.mark.slow
def test_whole_workflow_in_the_window(qtbot, clip, edgetam_checkpoint, settings, tmp_path):
    window = open_window(qtbot, settings)
    assert window.open_path(clip)
    assert "frame 1/4" in window.windowTitle()
    pick_model_file(qtbot, window, edgetam_checkpoint)
    canvas = window.canvas
    session = window.controller.session

    with step("two clicks (the second negative, with the E key) and F with a label: object 1"):
        qtbot.mouseClick(canvas, Qt.LeftButton, pos=at(window, 300, 200))
        qtbot.keyClick(window, Qt.Key_E)
        assert not canvas.positive
        qtbot.mouseClick(canvas, Qt.LeftButton, pos=at(window, 100, 100))
        settle(qtbot, window, lambda: len(session.pending_prompts[0]) == 2)
        assert [p[2] for p in session.pending_prompts[0]] == [1, 0] and canvas.shows_pending_mask
        assert "not saved yet" in window.windowTitle()
        qtbot.keyClick(window, Qt.Key_Q)
        press_f(qtbot, window, "walker")
        settle(qtbot, window, lambda: session.store.objects() == {1: "walker"})
        assert window.settings.recent_labels() == ["walker"]

    with step("a dragged box and F: object 2, the prompt offers the last label"):
        qtbot.mousePress(canvas, Qt.LeftButton, pos=at(window, 500, 300))
        qtbot.mouseMove(canvas, at(window, 580, 400))
        qtbot.mouseMove(canvas, at(window, 650, 500))
        qtbot.mouseRelease(canvas, Qt.LeftButton, pos=at(window, 650, 500))
        settle(qtbot, window, lambda: session.pending_prompts[1] is not None)
        press_f(qtbot, window, "object2")
        settle(qtbot, window, lambda: len(session.store.objects()) == 2)
        assert window.objects.tree.topLevelItemCount() == 2 and "all changes saved" in window.windowTitle()

    with step("Ctrl+M tracks the clip; the canvas follows and every frame is saved"):
        qtbot.keyClick(window, Qt.Key_M, Qt.ControlModifier)
        qtbot.waitUntil(lambda: window.controller.tracking, timeout=WAIT_MS)
        settle(qtbot, window, lambda: session.store.annotated_frames() == [0, 1, 2, 3])
        assert "left" in window.message.text() or "tracked" in window.message.text()
        tracked = masks(session.store)
        assert window.timeline.rows and window.timeline.frame_count == 4

    with step("correct object 1 on frame 3: select it, Correct, click, F, track again from there"):
        assert session.current_frame == 3  # the canvas followed the tracking to the last frame
        qtbot.keyClick(window, Qt.Key_Left)
        qtbot.keyClick(window, Qt.Key_A)
        settle(qtbot, window, lambda: session.current_frame == 1)
        qtbot.keyClick(window, Qt.Key_Right)
        settle(qtbot, window, lambda: session.current_frame == 2)
        assert "frame 3/4" in window.windowTitle()
        window.objects.tree.topLevelItem(0).setSelected(True)
        settle(qtbot, window)
        assert session.marking is None and canvas.selected == 1  # selecting only looks
        window.objects.correct_button.click()
        settle(qtbot, window, lambda: session.marking == 1)
        qtbot.mouseClick(canvas, Qt.LeftButton, pos=at(window, 310, 210))
        settle(qtbot, window, lambda: len(session.pending_prompts[0]) == 1)
        qtbot.keyClick(window, Qt.Key_F)  # a correction keeps its label: no prompt
        settle(qtbot, window, lambda: session.store.mask_sources(2).get(1) == "prompt")
        qtbot.keyClick(window, Qt.Key_M, Qt.ControlModifier)
        qtbot.waitUntil(lambda: window.controller.job is not None, timeout=WAIT_MS)
        settle(qtbot, window)
        corrected = masks(session.store)
        assert {f: corrected[f] for f in (0, 1)} == {f: tracked[f] for f in (0, 1)}

    with step("Ctrl+Z undoes the re-track, Ctrl+Shift+Z redoes it"):
        qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
        settle(qtbot, window)
        assert "undo: track forward from frame 3" in window.message.text()
        qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)
        settle(qtbot, window, lambda: masks(session.store) == corrected)

    with step("relabel in the object panel, rename a class in the label manager (Alt+L)"):
        window.objects.tree.topLevelItem(0).setText(1, "person")
        settle(qtbot, window, lambda: session.store.objects()[1] == "person")
        assert window.message.text() == "object 1 is now person"
        qtbot.keyClick(window, Qt.Key_L, Qt.AltModifier)
        dialog = next(w for w in QApplication.topLevelWidgets() if w.windowTitle() == "Label manager" and w.isVisible())
        dialog.rename("object2", "car")
        activate(qtbot, window)
        settle(qtbot, window, lambda: session.store.objects() == {1: "person", 2: "car"})
        assert dialog.list.count() == 2
        dialog.close()

    with step("export through the window"):
        window.controller.export("coco", "polygon", tmp_path / "export" / "coco")
        settle(qtbot, window)
        assert window.message.text().startswith("exported to")
        from pycocotools.coco import COCO

        data = COCO(str(tmp_path / "export" / "coco" / "annotations" / "instances_default.json"))
        assert {c["name"] for c in data.loadCats(data.getCatIds())} == {"person", "car"}
        final = masks(session.store)
        window.close()

    with step("reopen: annotations are there and the window returns to the frame it was left on"):
        again = open_window(qtbot, settings)
        assert again.open_path(clip)
        settle(qtbot, again)
        assert masks(again.controller.session.store) == final
        assert again.controller.frame == session.current_frame and again.objects.tree.topLevelItemCount() == 2
        again.close()


def test_errors_are_shown_in_the_window(qtbot, settings, tmp_path, clip):
    window = open_window(qtbot, settings)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(2000))
    assert not window.open_path(damaged)
    assert "damaged.mp4" in window.last_error and window.isVisible()
    assert not window.choose_model({"spec": str(tmp_path / "missing.pt"), "precision": "auto", "device": "cpu"})
    assert "no such checkpoint file" in window.last_error
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(b"PK\x03\x04" + bytes(100))
    assert window.choose_model({"spec": str(truncated), "precision": "auto", "device": "cpu"})
    assert window.open_path(clip)
    qtbot.mouseClick(window.canvas, Qt.LeftButton, pos=at(window, 300, 200))
    settle(qtbot, window)
    assert "truncated.pt" in window.last_error and window.controller.session.store.objects() == {}
    window.label_manager()  # works with an empty project
    window.close()


def test_no_weights_offline_is_a_message(qtbot, settings, tmp_path, monkeypatch):
    monkeypatch.setenv("ANYMASK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("ANYMASK_OFFLINE", "1")
    window = open_window(qtbot, settings)
    assert not window.choose_model({"spec": "sam2.1-large", "precision": "auto", "device": "cpu"})
    assert "downloads are off" in window.last_error and "sam2.1_hiera_large.pt" in window.last_error
    assert window.settings.model()["spec"] != "sam2.1-large"  # the choice is not remembered
    window.close()


def test_shortcut_sheet_lists_the_keys(qtbot, settings):
    from PySide6.QtWidgets import QTableWidget

    window = open_window(qtbot, settings)
    window.shortcut_sheet()
    sheet = next(w for w in QApplication.topLevelWidgets() if w.windowTitle() == "Keyboard shortcuts")
    table = sheet.findChild(QTableWidget)
    rows = {table.item(r, 1).text(): table.item(r, 0).text() for r in range(table.rowCount())}
    assert rows["Finish object (asks its label)"] == "F" and rows["Clear prompts"] == "B"
    assert rows["Track to the end"] == "Ctrl+M, Ctrl+B" and rows["Next keyframe (prompted frame)"] == "], Ctrl+Right"
    assert rows["Forward 10 frames"] == "Shift+Right, Shift+D"
    assert rows["Label manager…"] == "Alt+L" and rows["Undo"] == "Ctrl+Z" and rows["Play / pause"] == "Space"
    assert window.actions["toggle_edit_mode"].shortcut().toString() == "Ctrl+J"
    sheet.close()
    window.close()


def _serve(payload: bytes, pause: float):
    """An HTTP server on 127.0.0.1 sending `payload` in 256 KB pieces with a pause between them."""
    import http.server
    import threading
    import time

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            start = int(self.headers["Range"].split("=")[1].split("-")[0]) if self.headers.get("Range") else 0
            self.send_response(206 if start else 200)
            self.send_header("Content-Length", str(len(payload) - start))
            self.end_headers()
            try:
                for offset in range(start, len(payload), 1 << 18):
                    self.wfile.write(payload[offset : offset + (1 << 18)])
                    time.sleep(pause)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_model_download_dialog_cancels_then_resumes(qtbot, settings, tmp_path, monkeypatch):
    import hashlib
    from dataclasses import replace

    from anymask.models import hub

    payload = bytes(range(256)) * 4096 * 8  # 8 MB, sent in 32 pieces
    server = _serve(payload, pause=0.05)
    url = f"http://127.0.0.1:{server.server_address[1]}/sam2.1_hiera_tiny.pt"
    digest = hashlib.sha256(payload).hexdigest()
    monkeypatch.setitem(hub.REGISTRY, "sam2.1-tiny", replace(hub.REGISTRY["sam2.1-tiny"], url=url, sha256=digest))
    monkeypatch.setenv("ANYMASK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.delenv("ANYMASK_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    window = open_window(qtbot, settings)
    choice = {"spec": "sam2.1-tiny", "precision": "auto", "device": "cpu"}

    def cancel_when_started(dialog):
        qtbot.waitUntil(lambda: dialog.bar.value() > 0, timeout=10_000)
        dialog.cancel()

    when_modal(cancel_when_started)
    assert not window.choose_model(choice)
    assert "download cancelled" in window.last_error
    partial = tmp_path / "home" / "checkpoints" / "sam2.1_hiera_tiny.pt.part"
    assert 0 < partial.stat().st_size < len(payload)
    assert window.choose_model(choice)  # resumes and finishes
    assert (tmp_path / "home" / "checkpoints" / "sam2.1_hiera_tiny.pt").read_bytes() == payload
    assert window.settings.model()["spec"] == "sam2.1-tiny" and "sam2.1-tiny" in window.model_button.text()
    server.shutdown()
    window.close()


def test_edit_mode_drags_a_vertex_and_the_mask_follows(qtbot, settings, clip, own_checkpoint):

    from anymask.app.dialogs import ExportDialog

    window = open_window(qtbot, settings)
    assert window.open_path(clip)
    session = window.controller.session
    mask = np.zeros((576, 768), bool)
    mask[100:200, 100:300] = True
    session.store.add_object("car", 0)
    session.save_mask(0, 0, "car", mask, 0.9, "tracked")
    window.refresh_annotations()
    assert [layer.object_id for layer in window.canvas.layers] == [0]
    qtbot.keyClick(window, Qt.Key_J, Qt.ControlModifier)
    assert window.canvas.edit_mode
    x, y = window.canvas.layers[0].shape.points[0]
    qtbot.mousePress(window.canvas, Qt.LeftButton, pos=at(window, x, y))
    qtbot.mouseMove(window.canvas, at(window, x - 30, y - 30))
    qtbot.mouseRelease(window.canvas, Qt.LeftButton, pos=at(window, x - 40, y - 40))
    settle(qtbot, window, lambda: session.store.mask_sources(0).get(0) == "edited")
    assert session.store.mask(0, 0).sum() > mask.sum()
    # select the shape and delete it; Ctrl+Z brings it back
    qtbot.mouseClick(window.canvas, Qt.LeftButton, pos=at(window, 200, 150))
    assert window.canvas.selected == 0
    qtbot.keyClick(window, Qt.Key_Delete)
    settle(qtbot, window, lambda: session.store.annotated_frames() == [])
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier)
    settle(qtbot, window, lambda: session.store.annotated_frames() == [0])
    # the output mode switch redraws rectangles
    window.output_mode.setCurrentText("rectangle")
    settle(qtbot, window, lambda: session.output_mode == "rectangle")
    window.refresh_layers()
    assert window.canvas.layers[0].shape.shape_type == "rectangle"
    dialog = ExportDialog(session.store.folder, session.output_mode, window)
    dialog.format.setCurrentText("yolo-obb")
    assert dialog.choice()[0] == "yolo-obb" and dialog.choice()[2].name == "yolo-obb"
    assert not session.model_loaded  # editing never needed the model
    window.close()


def test_timeline_columns_show_the_worst_state_and_jump(qtbot):
    from anymask.app.timeline import LABEL_PX, Timeline

    timeline = Timeline()
    qtbot.addWidget(timeline)
    timeline.resize(LABEL_PX + 100, 40)
    states = {frame: "present" for frame in range(100_000)}
    states.update({50_000: "absent", 75_000: "low"})
    timeline.set_rows(100_000, [(0, "car", (255, 0, 0), states, [0])])
    codes = timeline.columns(states, 100)
    assert codes[50] == 3 and codes[75] == 2 and codes[10] == 1 and len(codes) == 100
    timeline.grab()  # paints 100 000 frames as at most 100 columns
    with qtbot.waitSignal(timeline.frame_clicked) as jumped:
        qtbot.mouseClick(timeline, Qt.LeftButton, pos=QPoint(LABEL_PX + 50, 10))
    assert jumped.args[0] == 50_000
    timeline.frame_count = 10  # 10 frames on 100 columns: each fills its 10
    few = timeline.columns({2: "present", 3: "low"}, 100)
    assert list(few[18:42]) == [0, 0] + [1] * 10 + [2] * 10 + [0, 0]


def test_anymask_gui_command_opens_the_window_on_a_path(clip, own_checkpoint, tmp_path):
    """`anymask gui PATH` in its own process (its event loop must not share this one's QApplication)."""
    import os
    import subprocess
    import sys
    import time

    env = dict(os.environ, ANYMASK_SETTINGS=str(tmp_path / "gui.ini"), QT_QPA_PLATFORM="offscreen")
    process = subprocess.Popen(
        [sys.executable, "-m", "anymask.cli", "gui", str(clip), "--model", str(own_checkpoint)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    database = clip / ".anymask" / "project.sqlite"

    def opened() -> bool:  # the project exists and the window has recorded it as recent (read afresh)
        return database.exists() and str(clip.resolve()) in AppSettings(str(tmp_path / "gui.ini")).recent()

    deadline = time.time() + 60
    while not opened() and time.time() < deadline and process.poll() is None:
        time.sleep(0.1)
    running = process.poll() is None
    process.terminate()
    _, stderr = process.communicate(timeout=30)
    assert running and database.exists(), stderr
    assert "Traceback" not in stderr
    assert AppSettings(str(tmp_path / "gui.ini")).model()["spec"] == str(own_checkpoint)
    assert str(clip.resolve()) in AppSettings(str(tmp_path / "gui.ini")).recent()


@pytest.mark.slow
def test_closing_the_window_while_tracking_keeps_what_was_tracked(
    qtbot, media_dir, edgetam_checkpoint, settings, tmp_path
):
    from anymask.project import ProjectStore

    clip = write_clip(media_dir, tmp_path / "long-clip", count=12, step=2)
    window, session = window_marking(qtbot, settings, clip, edgetam_checkpoint)
    press_f(qtbot, window, None)  # the suggested label
    settle(qtbot, window, lambda: session.store.objects() == {1: "object1"})
    qtbot.keyClick(window, Qt.Key_M, Qt.ControlModifier)
    qtbot.waitUntil(lambda: len(session.store.annotated_frames()) >= 2, timeout=WAIT_MS)
    folder = session.store.folder
    window.close()  # cancels tracking, waits for the frame in progress, closes the project
    assert window.controller.worker.stopped
    with ProjectStore.open(folder) as store:
        frames = store.annotated_frames()
    assert 2 <= len(frames) < 12 and frames == list(range(len(frames)))  # closing stopped the run


def test_old_bf16_default_moves_to_auto_and_a_new_choice_stays(tmp_path):
    from PySide6.QtCore import QSettings

    path = str(tmp_path / "old.ini")
    old = QSettings(path, QSettings.IniFormat)  # written by a version whose default was bf16
    old.setValue("model/spec", "sam2.1-small")
    old.setValue("model/precision", "bf16")
    old.sync()
    assert AppSettings(path).model() == {"spec": "sam2.1-small", "precision": "auto", "device": "cpu"}
    AppSettings(path).set_model("sam2.1-small", "bf16", "cpu")  # chosen now: kept
    assert AppSettings(path).model()["precision"] == "bf16"


def test_gui_without_flags_keeps_the_remembered_model(monkeypatch, tmp_path):
    import anymask.app as app_module
    from anymask.app import main_window

    path = str(tmp_path / "gui.ini")
    AppSettings(path).set_model("/models/mine.pt", "fp32", "cpu")
    monkeypatch.setenv("ANYMASK_SETTINGS", path)

    class NoWindow:
        def __init__(self, settings):
            pass

        def show(self):
            pass

    monkeypatch.setattr(main_window, "MainWindow", NoWindow)
    monkeypatch.setattr(QApplication, "exec", lambda self: 0)
    assert app_module.run_app() == 0
    assert AppSettings(path).model() == {"spec": "/models/mine.pt", "precision": "fp32", "device": "cpu"}
    assert app_module.run_app(precision="fast") == 0
    assert AppSettings(path).model() == {"spec": "/models/mine.pt", "precision": "fast", "device": "cpu"}


def test_model_dialog_says_what_auto_picks(qtbot, monkeypatch):
    from anymask.models import precision as precision_module

    monkeypatch.setattr(precision_module, "cpu_capability", lambda: "AVX2")
    dialog = ModelDialog({"spec": "sam2.1-tiny", "precision": "bf16", "device": "cpu"})
    qtbot.addWidget(dialog)
    note = dialog.precision_note.text()
    assert "Auto picks fp32 here" in note and "AVX2" in note and "much slower" in note
    assert "EdgeTAM tracks about 5x faster here" in note  # SAM 2 in fp32 is near the arithmetic's floor
    dialog.precision.setCurrentIndex(dialog.precision.findData("auto"))
    assert "much slower" not in dialog.precision_note.text()
    assert dialog.choice()["precision"] == "auto"
    assert [dialog.precision.itemData(i) for i in range(dialog.precision.count())] == ["auto", "fp32", "bf16", "fast"]
    assert dialog.model_note.isHidden()  # SAM 2.1 has no trade-off line; EdgeTAM has one
    dialog.variant.setCurrentIndex(dialog.variant.findData("edgetam"))
    assert "fastest" in dialog.model_note.text() and not dialog.model_note.isHidden()
    assert dialog.choice()["spec"] == "edgetam"


def test_model_dialog_says_fast_is_slower_where_bf16_is_native(qtbot, monkeypatch):
    from anymask.models import precision as precision_module

    monkeypatch.setattr(precision_module, "cpu_capability", lambda: "AVX512")
    monkeypatch.setattr(precision_module, "cpu_bf16_flags", lambda: (True, False))
    dialog = ModelDialog({"spec": "sam2.1-tiny", "precision": "fast", "device": "cpu"})
    qtbot.addWidget(dialog)
    assert "Auto picks bf16 here" in dialog.precision_note.text()
    assert "Fast is slower than Auto" in dialog.precision_note.text()
    dialog.precision.setCurrentIndex(dialog.precision.findData("auto"))
    assert "Fast is slower" not in dialog.precision_note.text()


def test_model_dialog_traps_are_gone(qtbot, settings, present_checkpoint, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    dialog = ModelDialog({"spec": "sam2.1-tiny", "precision": "auto", "device": "cpu"})
    qtbot.addWidget(dialog)
    assert [dialog.device.itemText(i) for i in range(dialog.device.count())] == ["cpu"]  # no GPU: no cuda
    qtbot.keyClicks(dialog.path, str(present_checkpoint))  # typing a path is enough to use it
    assert dialog.choice()["spec"] == str(present_checkpoint)
    browse = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Browse…")
    assert not browse.autoDefault()  # Enter accepts instead of browsing again
    window = open_window(qtbot, settings)
    window.show_error("sam2.1-large: download failed")
    assert window.choose_model({"spec": str(present_checkpoint), "precision": "auto", "device": "cpu"})
    assert window.last_error is None and window.error_label.text() == ""  # no stale error
    assert window.model_button.text().endswith("— downloaded")
    window.close()
