"""AppSettings: what the app remembers between runs (model, output mode, recent projects and their frame)."""

from __future__ import annotations

import json
import os

from PySide6.QtCore import QSettings

RECENT_LIMIT = 10
# 1: precision "auto" (earlier settings saved the old default "bf16", which is very slow on CPUs without BF16)
SETTINGS_VERSION = 1


class AppSettings:
    """QSettings under anymask/anymask, or an ini file named by $ANYMASK_SETTINGS (tests use their own)."""

    def __init__(self, path: str | None = None) -> None:
        path = path or os.environ.get("ANYMASK_SETTINGS")
        self._qt = QSettings(path, QSettings.IniFormat) if path else QSettings("anymask", "anymask")
        self._migrate()

    def _migrate(self) -> None:
        """Settings saved before version 1 kept bf16 as a default, not a choice: they move to auto."""
        try:
            version = int(self.value("settings/version", 0))
        except (TypeError, ValueError):
            version = 0
        if version < 1 and str(self.value("model/precision", "auto")) == "bf16":
            self.set_value("model/precision", "auto")
        if version < SETTINGS_VERSION:
            self.set_value("settings/version", SETTINGS_VERSION)

    def value(self, key: str, default=None):
        value = self._qt.value(key, default)
        return default if value is None else value

    def set_value(self, key: str, value) -> None:
        self._qt.setValue(key, value)
        self._qt.sync()

    def model(self) -> dict:
        return {
            "spec": str(self.value("model/spec", "sam2.1-tiny")),
            "precision": str(self.value("model/precision", "auto")),
            "device": str(self.value("model/device", "cpu")),
        }

    def set_model(self, spec: str, precision: str, device: str) -> None:
        self.set_value("model/spec", spec)
        self.set_value("model/precision", precision)
        self.set_value("model/device", device)

    def _strings(self, key: str) -> list[str]:
        """A JSON list of strings kept under `key` (anything else reads as empty)."""
        try:
            entries = json.loads(str(self.value(key, "[]")))
        except (json.JSONDecodeError, RecursionError):
            return []
        return [e for e in entries if isinstance(e, str)] if isinstance(entries, list) else []

    def _push(self, key: str, value: str) -> None:
        """`value` first in the list under `key`, without repeats, at most RECENT_LIMIT long."""
        entries = [value] + [e for e in self._strings(key) if e != value]
        self.set_value(key, json.dumps(entries[:RECENT_LIMIT]))

    def recent(self) -> list[str]:
        return self._strings("recent")

    def add_recent(self, path: str) -> None:
        self._push("recent", path)

    def recent_labels(self) -> list[str]:
        """Labels given on F, newest first (the label prompt offers them)."""
        return self._strings("recent_labels")

    def add_recent_label(self, label: str) -> None:
        self._push("recent_labels", label)

    def last_frame(self, path: str) -> int:
        try:
            return max(0, int(self.value(f"frames/{_key(path)}", 0)))
        except (TypeError, ValueError):
            return 0

    def set_last_frame(self, path: str, frame: int) -> None:
        self.set_value(f"frames/{_key(path)}", int(frame))


def _key(path: str) -> str:
    """A settings key for a path (QSettings treats / and \\ as groups)."""
    import hashlib

    return hashlib.sha1(path.encode("utf-8")).hexdigest()[:16]
