"""The window's actions and their keys (as in X-AnyLabeling), in one table the shortcut sheet is made from."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStyle


@dataclass(frozen=True)
class ActionSpec:
    name: str  # what it calls: a window method, or "controller.x" / "canvas.x"
    text: str
    keys: tuple[str, ...] = ()
    menu: str = "Edit"
    checkable: bool = False
    short: str = ""  # toolbar text


ACTIONS = (
    ActionSpec("open_video_dialog", "Open video…", ("Ctrl+O",), "File"),
    ActionSpec("open_folder_dialog", "Open frame or image folder…", ("Ctrl+U",), "File"),
    ActionSpec("import_dialog", "Import annotations…", ("Ctrl+Shift+I",), "File"),
    ActionSpec("export_dialog", "Export dataset…", ("Ctrl+Shift+E",), "File"),
    ActionSpec("model_dialog", "Choose model…", (), "File"),
    ActionSpec("close", "Quit", ("Ctrl+Q",), "File"),
    ActionSpec("positive_mode", "Positive point mode", ("Q",), "Annotate", checkable=True, short="+ Point"),
    ActionSpec("negative_mode", "Negative point mode", ("E",), "Annotate", checkable=True, short="− Point"),
    ActionSpec("finish_object", "Finish object (asks its label)", ("F",), "Annotate", short="Finish"),
    ActionSpec("controller.clear", "Clear prompts", ("B",), "Annotate", short="Clear"),
    ActionSpec(
        "toggle_edit_mode",
        "Edit mode (drag vertices; Shift+click removes, double-click adds)",
        ("Ctrl+J",),
        "Annotate",
        checkable=True,
        short="Edit",
    ),
    ActionSpec("delete_selected_shape", "Delete selected shape", ("Delete",), "Annotate"),
    ActionSpec("controller.undo", "Undo", ("Ctrl+Z",), "Edit"),
    ActionSpec("controller.redo", "Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Edit"),
    ActionSpec("label_manager", "Label manager…", ("Alt+L",), "Edit"),
    ActionSpec("track_all", "Track to the end", ("Ctrl+M", "Ctrl+B"), "Track", short="Track"),
    ActionSpec("track_dialog", "Track… (a range, N frames, both ways)", ("Ctrl+Shift+M",), "Track", short="Track…"),
    ActionSpec("controller.track_backward", "Track backward to the start", ("Ctrl+Shift+B",), "Track"),
    ActionSpec("controller.track_both", "Track both ways", (), "Track"),
    ActionSpec("controller.cancel_tracking", "Cancel tracking", ("Escape",), "Track", short="Cancel"),
    ActionSpec("controller.reset_tracker", "Reset tracker (rebuild its memory from the prompts)", (), "Track"),
    ActionSpec("controller.previous_frame", "Previous frame", ("Left", "A"), "View"),
    ActionSpec("controller.next_frame", "Next frame", ("Right", "D"), "View"),
    ActionSpec("controller.back_ten", "Back 10 frames", ("Shift+Left", "Shift+A"), "View"),
    ActionSpec("controller.forward_ten", "Forward 10 frames", ("Shift+Right", "Shift+D"), "View"),
    ActionSpec("controller.previous_keyframe", "Previous keyframe (prompted frame)", ("[", "Ctrl+Left"), "View"),
    ActionSpec("controller.next_keyframe", "Next keyframe (prompted frame)", ("]", "Ctrl+Right"), "View"),
    ActionSpec("images_mode", "Track through this folder (its images are frames of one video)", (), "View", True),
    ActionSpec("toggle_play", "Play / pause", ("Space",), "View"),
    ActionSpec("canvas.zoom_fit", "Fit to window", ("Ctrl+0",), "View"),
    ActionSpec("canvas.zoom_actual", "Actual size (1:1)", ("Ctrl+1",), "View"),
    ActionSpec("shortcut_sheet", "Keyboard shortcuts", ("F1",), "Help"),
)
TOOL_ICONS = {  # Qt's own icons, so the toolbar reads at a glance (tooltips give the keys)
    "finish_object": QStyle.SP_DialogApplyButton,
    "clear": QStyle.SP_DialogResetButton,
    "undo": QStyle.SP_ArrowBack,
    "redo": QStyle.SP_ArrowForward,
    "track_all": QStyle.SP_MediaPlay,
    "track_dialog": QStyle.SP_MediaSeekForward,
    "cancel_tracking": QStyle.SP_MediaStop,
}
EXTRA_KEYS = (
    ("Left click", "add a point (Shift+click: the other sign)"),
    ("Left drag", "draw a box prompt"),
    ("Wheel", "zoom around the pointer"),
    ("Right or middle drag", "pan"),
)


def build_actions(window) -> dict[str, QAction]:
    """QActions for ACTIONS, connected to the window's methods and placed in its menus."""
    actions, menus = {}, {}
    for spec in ACTIONS:
        action = QAction(spec.text, window)
        action.setShortcuts([QKeySequence(k) for k in spec.keys])
        action.setCheckable(spec.checkable)
        action.setIconText(spec.short or spec.text)
        action.setToolTip(f"{spec.text} ({', '.join(spec.keys)})" if spec.keys else spec.text)
        action.triggered.connect(lambda checked=False, name=spec.name: _resolve(window, name)())
        if spec.menu not in menus:
            menus[spec.menu] = window.menuBar().addMenu(spec.menu)
        menus[spec.menu].addAction(action)
        window.addAction(action)  # keys work wherever the focus is
        actions[spec.name.split(".")[-1]] = action
    window.menus = menus
    return actions


def _resolve(window, name: str):
    owner, _, method = name.rpartition(".")
    return getattr(getattr(window, owner) if owner else window, method)


def shortcut_rows() -> list[tuple[str, str]]:
    return [(", ".join(spec.keys), spec.text) for spec in ACTIONS if spec.keys] + list(EXTRA_KEYS)
