"""Reading foreign files and checking their values: text and JSON read whole, finite numbers, integers in a range."""

from __future__ import annotations

import json
import math
from pathlib import Path

from .errors import AnnotationFormatError


def parse_json(text: str, where: str):
    """A JSON document from text, or AnnotationFormatError naming `where` (and where the JSON broke)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnnotationFormatError(
            f"{where}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        ) from None
    except RecursionError:
        raise AnnotationFormatError(f"{where}: JSON nested too deeply") from None


def read_text_file(path: str | Path, what: str) -> str:
    """A UTF-8 file's text, or AnnotationFormatError naming the file; `what` names the kind of file expected."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AnnotationFormatError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise AnnotationFormatError(f"{path}: is a folder, not a {what}") from None
    except UnicodeDecodeError:
        raise AnnotationFormatError(f"{path}: not UTF-8 text, expected a {what}") from None
    except OSError as exc:
        raise AnnotationFormatError(f"{path}: cannot read ({exc.strerror or exc.__class__.__name__})") from None


def read_json_file(path: str | Path, what: str = "JSON file"):
    """A JSON file's document, or AnnotationFormatError naming the file (and where the JSON broke)."""
    return parse_json(read_text_file(path, what), str(path))


def is_finite_number(value) -> bool:
    """A JSON number (not a bool) that is a finite float; an integer too large for a float is not."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def is_int_in(value, low: int, high: int) -> bool:
    """An integer (not a bool) with low <= value <= high."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def as_key(value):
    """A JSON id usable as a dict key: a number or a string; None for a list, object or bool (never matches)."""
    return value if isinstance(value, (int, float, str)) and not isinstance(value, bool) else None
