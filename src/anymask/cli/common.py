"""What the commands share: the format and mode names, the model options, the help formatter."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..vocabulary import DIRECTIONS, EXPORT_FORMATS, OUTPUT_MODES, PRECISION_HELP, PRECISION_NAMES

__all__ = ["DIRECTIONS", "EXPORT_FORMATS", "OUTPUT_MODES", "HelpFormatter", "add_command", "model_options"]


class HelpFormatter(argparse.HelpFormatter):
    """--help shows every default an option has (not None or off, and not already said in its help)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def debug_option() -> argparse.ArgumentParser:
    """--debug after the command too (`anymask track ... --debug`); SUPPRESS keeps the top-level value."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks on errors"
    )
    return parent


def add_command(commands, name: str, help_text: str, parents, handler) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name, help=help_text, description=help_text, parents=parents, formatter_class=HelpFormatter
    )
    parser.set_defaults(handler=handler)
    return parser


def model_options(parser: argparse.ArgumentParser, remembered: bool = False) -> None:
    """--model, --precision, --device; `remembered`: no defaults here (the app keeps the last choice)."""
    parser.add_argument(
        "--model",
        default=None if remembered else "sam2.1-tiny",
        help="a model name or a checkpoint file" + (" (default: the app's last choice)" if remembered else ""),
    )
    parser.add_argument(
        "--precision", default=None if remembered else "auto", choices=PRECISION_NAMES, help=PRECISION_HELP
    )
    parser.add_argument("--device", default=None if remembered else "cpu", help="cpu, cuda or cuda:N")


def output_folder(path: Path) -> Path:
    """--out as a folder: a one-line error if it names an existing file."""
    from ..errors import AnymaskError

    if path.exists() and not path.is_dir():
        raise AnymaskError(f"{path}: --out names a file; give a folder")
    return path


def open_session(media, args):
    """The Session a batch command works in: its project under OUT/project unless --project names one."""
    from ..session import Session

    output_folder(args.out)

    return Session(
        media,
        project_folder=args.project or args.out / "project",
        model=args.model,
        precision=args.precision,
        device=args.device,
        output_mode=args.mode,
        tolerance=args.tolerance,
        step_mode=getattr(args, "step", "eager"),
    )


def output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", default="polygon", choices=OUTPUT_MODES, help="the shape written")
    parser.add_argument(
        "--tolerance", type=float, default=1.0, help="polygon fineness in pixels (0: every boundary pixel)"
    )
    parser.add_argument(
        "--val",
        type=validation_share,
        default=0.2,
        help="YOLO: the share of annotated frames held out as val, one block at the end (0: val = train)",
    )
    parser.add_argument(
        "--empty-frames",
        action="store_true",
        help="YOLO, VOC, X-AnyLabeling: also write frames without objects (default: annotated frames only)",
    )


def validation_share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 0.9:
        raise argparse.ArgumentTypeError(f"expected a share from 0 to 0.9, got {text!r}")
    return value


def export_as_asked(session, args, out: Path) -> Path:
    """`session.export` into OUT/<format> with the command's output options and a progress bar."""
    return session.export(
        args.format,
        out / args.format,
        ExportBar(args.format, args.quiet),
        val=args.val,
        empty_frames=args.empty_frames,
    )


class ExportBar:
    """A progress bar over an export's frames (shown unless quiet): pass it as `progress`."""

    def __init__(self, format_name: str, quiet: bool) -> None:
        self.format_name, self.quiet, self.bar = format_name, quiet, None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="frame", desc=f"writing {self.format_name}", disable=self.quiet)
        self.bar.update(done - self.bar.n)
        if done == total:
            self.bar.close()
