"""Checks of values read from foreign files: JSON files read whole, numbers that are finite, integers in a range."""

from __future__ import annotations

import json
import math
from pathlib import Path

from .errors import AnnotationFormatError


def read_json_file(path: str | Path):
    """A JSON file's document, or AnnotationFormatError naming the file (and where the JSON broke)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationFormatError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnnotationFormatError(
            f"{path}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
        ) from None


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
