"""`anymask gui`: open the desktop app, optionally on a video or folder."""

from __future__ import annotations

from ..errors import AnymaskError
from .common import add_command, model_options


def register(commands, parents) -> None:
    parser = add_command(commands, "gui", "open the desktop app", parents, run)
    parser.add_argument("path", nargs="?", help="a video, frame folder or image folder to open")
    model_options(parser, remembered=True)


def run(args) -> int:
    try:
        from ..app import run_app
    except ImportError as exc:
        raise AnymaskError(f"the desktop app needs PySide6 ({exc}): pip install 'anymask[gui]'") from None
    return run_app(args.path, model=args.model, precision=args.precision, device=args.device)
