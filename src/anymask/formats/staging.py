"""Exports appear whole or not at all: written into a hidden folder beside the target, then moved in."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import AnymaskError
from ..leftovers import remove_dead

STAGE_PREFIX = ".anymask-export-"


@contextlib.contextmanager
def staged(out: Path) -> Iterator[Path]:
    """Yield where to write an export meant for `out`; on success move it there, on failure leave nothing.

    A new `out` appears in one rename. An existing folder gets each file moved in (renames only, after
    everything was written), and is never written through a symbolic link inside it. Stages left by
    killed processes are removed.
    """
    out = Path(out).absolute()
    if out.exists() and out.is_dir() is False and out.suffix != ".json":
        raise AnymaskError(f"{out}: the output names a file; give a folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_stages(out.parent)
    stage = Path(tempfile.mkdtemp(prefix=f"{STAGE_PREFIX}{os.getpid()}-", dir=out.parent))
    try:
        target = stage / out.name
        yield target
        publish(target, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def publish(written: Path, out: Path) -> None:
    if written.is_file():  # a single-file export (COCO to a .json path)
        os.replace(written, out)
        return
    if not written.exists():
        written.mkdir(parents=True)  # an export with nothing to write still makes its folder
    if not out.exists() and not out.is_symlink():
        os.rename(written, out)
        return
    if not out.is_dir():
        raise AnymaskError(f"{out}: the output names a file; give a folder")
    for path in sorted(written.rglob("*")):
        if path.is_dir():
            continue
        destination = out / path.relative_to(written)
        _check_no_link(out, destination.parent)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, destination)  # replaces a link at the destination itself, never writes through it


def _check_no_link(out: Path, folder: Path) -> None:
    current = out
    for part in folder.relative_to(out).parts:
        current = current / part
        if current.is_symlink():
            raise AnymaskError(f"{current}: is a symbolic link; anymask never writes an export through one")


def remove_stale_stages(folder: Path) -> None:
    """Stage folders whose process is gone (a killed export)."""
    remove_dead(folder, STAGE_PREFIX)
