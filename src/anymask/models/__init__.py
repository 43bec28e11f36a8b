"""Models as users name them: the registry and downloads (hub), precision choice, and `load_model`."""

from .loading import is_model_available, load_model, looks_like_path, resolve_device

__all__ = ["is_model_available", "load_model", "looks_like_path", "resolve_device"]
