"""The `anymask` command line: the parser, one-line error reporting, and one module per command."""

from __future__ import annotations

import argparse
import errno
import sqlite3
import sys
import warnings

from ..errors import AnymaskError
from . import batch, bench, export, gui, imports, models, segment, track
from .common import EXPORT_FORMATS, OUTPUT_MODES, HelpFormatter, debug_option

__all__ = ["EXPORT_FORMATS", "OUTPUT_MODES", "build_parser", "main"]

COMMANDS = (models, track, segment, batch, export, imports, bench, gui)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="anymask", description="Annotate images and videos with SAM 2.", formatter_class=HelpFormatter
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.register(commands, [debug_option()])
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """anymask's own warnings as one line on stderr; others as Python prints them."""
    from ..models.precision import PrecisionWarning

    if issubclass(category, PrecisionWarning):
        print(f"anymask: warning: {message}", file=sys.stderr)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_python_show_warning = warnings.showwarning


def main(argv: list[str] | None = None) -> int:
    warnings.showwarning = _show_warning
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return args.handler(args)
    except AnymaskError as exc:
        if args.debug:
            raise
        print(f"anymask: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, sqlite3.Error) as exc:  # a full disk, a read-only folder, a vanished file
        if args.debug:
            raise
        print(f"anymask: error: {describe_os_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("anymask: interrupted", file=sys.stderr)
        return 130


def describe_os_error(exc: Exception) -> str:
    """One line for an OSError or SQLite error: the file, the problem, and for a full disk that saved work is kept."""
    if isinstance(exc, sqlite3.Error):
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        full = "full" in text
        problem = f"project store: {text}"
    else:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        where = f"{exc.filename}: " if exc.filename else ""
        problem = f"{where}{exc.strerror or exc}"
    if full:
        problem += " (the disk is full: everything confirmed before this is saved in the project; free space and rerun)"
    return problem
