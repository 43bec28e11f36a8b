"""The app's newer workflows through its real window (offscreen): File > Import, model dialog traps, an
unfinished object before tracking, tracking ranges and keyframes, and a folder of separate photos."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from app_support import (  # noqa: F401, E402 - clip_fixture, settings_fixture: the fixtures clip and settings
    WAIT_MS,
    activate,
    clip_fixture,
    masks,
    open_window,
    settings_fixture,
    settle,
    when_modal,
    window_marking,
)
from conftest import step, write_clip  # noqa: E402


def test_file_import_adds_another_tools_annotations(qtbot, settings, clip, tmp_path):
    """File > Import: a COCO file from another tool lands as new objects; a broken one is a message."""
    from anymask.annotations import rle
    from anymask.formats import Dataset, FrameInfo, Instance, export_dataset
    from anymask.media import open_source

    source = open_source(clip)
    frames = [FrameInfo(i, source.frame_name(i), *source.frame_size(i)) for i in range(len(source))]
    box = np.zeros(source.frame_size(0), bool)
    box[100:200, 150:260] = True
    theirs = Dataset("clip", frames, ["dog"], {1: [Instance(7, "dog", rle.encode(box))]})
    coco = export_dataset(theirs, "coco", tmp_path / "theirs.json", mode="mask")
    window = open_window(qtbot, settings)
    assert window.open_path(clip)
    settle(qtbot, window)
    window.controller.import_annotations("coco", coco)
    settle(qtbot, window, lambda: window.controller.session.store.objects() == {7: "dog"})
    assert window.message.text() == "imported 1 masks of 1 objects on 1 frames"
    assert window.objects.tree.topLevelItemCount() == 1
    (mask,) = window.controller.session.store.masks(1)
    assert np.array_equal(rle.decode(mask.rle), box)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    window.controller.import_annotations("coco", broken)
    settle(qtbot, window, lambda: window.last_error is not None)
    assert "broken.json: invalid JSON" in window.last_error and window.error_label.text() == window.last_error
    window.close()


def test_tracking_with_an_unfinished_object_asks_first(qtbot, clip, edgetam_checkpoint, settings):
    window, session = window_marking(qtbot, settings, clip, edgetam_checkpoint)
    when_modal(lambda dialog: dialog.reject())  # Cancel: nothing happens, the prompts stay
    qtbot.keyClick(window, Qt.Key_M, Qt.ControlModifier)
    activate(qtbot, window)
    settle(qtbot, window)
    assert session.marking == 1 and session.pending_prompts[0] and not window.controller.tracking

    def save(dialog):  # "Save": the object is finished (its label asked), then tracking starts
        dialog.button(QMessageBox.Save).click()
        when_modal(lambda prompt: prompt.accept())

    when_modal(save)
    qtbot.keyClick(window, Qt.Key_M, Qt.ControlModifier)
    activate(qtbot, window)
    settle(qtbot, window, lambda: session.store.annotated_frames() == [0, 1, 2, 3])
    assert session.store.objects() == {1: "object1"}
    window.close()


def test_track_a_range_then_retrack_a_correction_only_there(qtbot, media_dir, tmp_path, edgetam_checkpoint, settings):
    clip = write_clip(media_dir, tmp_path / "long", count=7, step=3)
    settings.set_model(str(edgetam_checkpoint), "auto", "cpu")
    window = open_window(qtbot, settings)
    assert window.open_path(clip)
    c, session = window.controller, window.controller.session
    c.click(300, 200)
    settle(qtbot, window, lambda: session.marking == 1)
    c.finish("walker")
    settle(qtbot, window, lambda: session.store.objects() == {1: "walker"})
    c.track_next(3)  # frames 0..3; 4..6 stay untouched
    qtbot.waitUntil(lambda: c.tracking, timeout=WAIT_MS)
    settle(qtbot, window)
    assert session.store.annotated_frames() == [0, 1, 2, 3]
    assert "tracked 4 frames" in window.message.text()
    before = masks(session.store)
    c.set_frame(2)
    settle(qtbot, window)
    c.mark(1)
    c.click(320, 230)
    settle(qtbot, window, lambda: len(session.pending_prompts[0]) == 1)
    c.finish()
    settle(qtbot, window)
    c.track_next(1)  # the correction re-tracks frames 2..3 only
    qtbot.waitUntil(lambda: c.tracking, timeout=WAIT_MS)
    settle(qtbot, window)
    after = masks(session.store)
    assert session.store.annotated_frames() == [0, 1, 2, 3]
    assert {f: after[f] for f in (0, 1)} == {f: before[f] for f in (0, 1)}
    assert window.timeline.rows[0][4] == [0, 2]  # keyframes: the prompted frames

    with step("keyframe navigation and 1-based frame numbers in what the person reads"):
        c.set_frame(5)
        settle(qtbot, window)
        qtbot.keyClick(window, Qt.Key_BracketLeft)
        settle(qtbot, window, lambda: c.frame == 2)
        qtbot.keyClick(window, Qt.Key_Left, Qt.ControlModifier)
        settle(qtbot, window, lambda: c.frame == 0)
        qtbot.keyClick(window, Qt.Key_BracketRight)
        settle(qtbot, window, lambda: c.frame == 2)
        qtbot.keyClick(window, Qt.Key_BracketRight)
        settle(qtbot, window)
        assert c.frame == 2 and window.message.text() == "no prompted frame after this one"
        assert "frame 3/7" in window.windowTitle() and window.frame_box.value() == 3
        qtbot.keyClick(window, Qt.Key_Right, Qt.ShiftModifier)
        settle(qtbot, window, lambda: c.frame == 6)
        c.undo()
        settle(qtbot, window)
        assert window.message.text() == "undo: track forward from frame 3"
        window.frame_box.setValue(2)
        settle(qtbot, window, lambda: c.frame == 1)
    window.close()


def test_an_image_folder_is_separate_images(qtbot, media_dir, tmp_path, edgetam_checkpoint, settings):
    from PIL import Image

    from anymask.media import open_source

    video = open_source(media_dir / "vtest.avi")
    folder = tmp_path / "photos"
    folder.mkdir()
    for index, name in enumerate(("street.jpg", "corner.jpg", "crossing.jpg")):
        Image.fromarray(video.frame(40 * index)).save(folder / name)
    settings.set_model(str(edgetam_checkpoint), "auto", "cpu")
    window = open_window(qtbot, settings)
    assert window.open_path(folder)
    c, session = window.controller, window.controller.session
    settle(qtbot, window)
    assert c.images_mode and window.files_dock.isVisible() and "image 1/3" in window.windowTitle()
    assert window.files.list.count() == 3 and window.files.summary.text() == "0 of 3 images done"
    window.files.list.setCurrentRow(1)
    settle(qtbot, window, lambda: c.frame == 1)
    c.click(300, 200)
    settle(qtbot, window, lambda: session.marking == 1)
    c.finish("person")
    settle(qtbot, window, lambda: session.store.objects() == {1: "person"})
    c.set_frame(2)
    c.click(320, 220)
    settle(qtbot, window, lambda: session.marking == 2)
    c.finish("person")
    settle(qtbot, window, lambda: len(session.store.objects()) == 2)
    assert session.store.annotated_frames() == [1, 2]  # each image has its own object, nothing spread
    assert window.files.summary.text() == "2 of 3 images done"
    assert window.files.list.item(1).text() == "✓ crossing.jpg  (1)"  # sorted by name: corner, crossing, street
    c.track()
    settle(qtbot, window)
    assert "separate images" in window.last_error and session.store.annotated_frames() == [1, 2]
    window.actions["images_mode"].trigger()  # View > Track through this folder
    settle(qtbot, window)
    assert not c.images_mode and not window.files_dock.isVisible()
    window.close()
