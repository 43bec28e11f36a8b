"""Leftovers of killed processes: folders named `<prefix><pid>-…` whose process is gone, found and removed."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def remove_dead(folder: Path, prefix: str) -> list[Path]:
    """Remove `folder/<prefix><pid>-…` folders of processes that are gone (not this one); returns them."""
    removed = []
    for path in Path(folder).glob(f"{prefix}*"):
        try:
            pid = int(path.name[len(prefix) :].split("-")[0])
        except ValueError:
            continue  # a name without a pid: its owner is unknown
        if pid != os.getpid() and not process_alive(pid):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
