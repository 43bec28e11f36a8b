"""`anymask gui`: open the desktop app, optionally on a video or folder."""

from __future__ import annotations

from ..errors import AnymaskError
from .common import add_command, model_options


def register(commands, parents) -> None:
    parser = add_command(commands, "gui", "open the desktop app", parents, run)
    parser.add_argument("path", nargs="?", help="a video, frame folder or image folder to open")
    model_options(parser, remembered=True)


def check_display(environ=None) -> None:
    """On Linux, Qt's default (xcb) platform aborts the process without a display: say so in one line."""
    import os
    import sys

    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or environ.get("QT_QPA_PLATFORM"):
        return
    if not environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY"):
        raise AnymaskError(
            "no display found (DISPLAY and WAYLAND_DISPLAY are unset): run anymask gui on a desktop, or with "
            "QT_QPA_PLATFORM=offscreen to run it headless; anymask track/segment/export need no display"
        )


def run(args) -> int:
    check_display()
    try:
        from ..app import run_app
    except ImportError as exc:
        raise AnymaskError(f"the desktop app needs PySide6 ({exc}): pip install 'anymask[gui]'") from None
    return run_app(args.path, model=args.model, precision=args.precision, device=args.device)
