"""anymask: click, track and export image and video annotations with SAM 2."""

from __future__ import annotations

__version__ = "0.1.0"

from .allocator import keep_freed_memory

keep_freed_memory()  # before any thread exists: see anymask.allocator

_LAZY = {
    "load_model": ("anymask.models.loading", "load_model"),
    "ImagePredictor": ("anymask.image_predictor", "ImagePredictor"),
    "SAM2Model": ("anymask.sam2.model", "SAM2Model"),
    "AnymaskError": ("anymask.errors", "AnymaskError"),
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    """Import heavy parts (torch) only when they are used, so `anymask --help` stays fast."""
    if name in _LAZY:
        import importlib

        module_name, attribute = _LAZY[name]
        return getattr(importlib.import_module(module_name), attribute)
    raise AttributeError(f"module 'anymask' has no attribute {name!r}")
