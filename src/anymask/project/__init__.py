"""anymask.project: the crash-safe project store (SQLite) and its folder lock."""

from .store import ProjectStore, default_project_folder

__all__ = ["ProjectStore", "default_project_folder"]
