"""Checks of values read from foreign files: JSON numbers that are finite floats, integers in a range."""

from __future__ import annotations

import math


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
