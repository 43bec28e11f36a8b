"""AnnotatedProject: the store, its undo history, the lock that serialises changes, the busy guard, events."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..annotations import rle
from ..annotations.shapes import Shape
from ..errors import ProjectError, SessionBusyError
from ..media import FrameSource
from ..project import ProjectStore
from ..project.snapshot import Region, capture
from ..vocabulary import OUTPUT_MODES
from . import output
from .events import PROJECT_CHANGED, Observers
from .history import History, StoreChange

if TYPE_CHECKING:
    from .runs import TrackingJob


def check_project_media(store: ProjectStore, media_path: Path, source: FrameSource) -> None:
    """Refuse to open a project with a video it was not made for, before any work is done in it.

    The project records its video's path. Another path is taken when that video is gone (it moved) or is
    a copy of this one (the same byte size; for a folder, the same file names and sizes), and the
    project's masks fit this one (frames and size); the new path is then recorded. Otherwise it is another
    video: a one-line error."""
    recorded = store.get_meta("media_path")
    here = Path(media_path).resolve()
    if recorded is None or Path(recorded) == here:
        return
    if Path(recorded).exists() and not _copies(Path(recorded), here):
        raise ProjectError(
            f"{store.folder}: this project belongs to {recorded}, not {media_path}; "
            "give this video a project of its own (another --project or --out)"
        )
    extent = store.mask_extent()
    if extent is not None:
        last, (height, width) = extent
        count = len(source)
        size = tuple(source.frame_size(min(last, count - 1)))
        if last >= count or size != (height, width):
            raise ProjectError(
                f"{store.folder}: its masks ({width}x{height}, up to frame {last}) do not fit {media_path} "
                f"({size[1]}x{size[0]}, {count} frames); it was made for {recorded}"
            )
    with store.transaction():
        store.set_meta("media_path", str(here))  # the project's video moved here


def _copies(a: Path, b: Path) -> bool:
    """Whether two videos or frame folders look like copies of each other (sizes, and names in a folder);
    a path to the same file, by a link or another spelling, is one."""
    try:
        if a.is_dir() and b.is_dir():
            listing = [sorted((f.name, f.stat().st_size) for f in folder.iterdir() if f.is_file()) for folder in (a, b)]
            return listing[0] == listing[1]
        return a.is_file() and b.is_file() and a.stat().st_size == b.stat().st_size
    except OSError:
        return False


def check_output_mode(mode: str) -> None:
    if mode not in OUTPUT_MODES:
        raise ValueError(f"output mode must be one of {', '.join(OUTPUT_MODES)}, got {mode!r}")


class AnnotatedProject:
    """What every part of a session changes: one project store and the rules for changing it.

    `lock` serialises model work and store changes across threads; `busy` (a background tracking run)
    refuses changes; `undoable` makes a store change one undo step; shapes follow the output mode.
    """

    def __init__(
        self,
        media_path: Path,
        source: FrameSource,
        store: ProjectStore,
        output_mode: str,
        tolerance: float,
        keep_manual_shapes: bool,
    ) -> None:
        check_output_mode(output_mode)
        self.media_path, self.source, self.store = media_path, source, store
        self.output_mode, self.tolerance = output_mode, tolerance
        self.keep_manual_shapes = keep_manual_shapes
        self.observers = Observers()
        self.history = History()
        self.lock = threading.RLock()
        self.current_frame = 0
        self.last_direction = "forward"
        self.job: TrackingJob | None = None  # the latest background tracking run

    @property
    def busy(self) -> bool:
        return self.job is not None and self.job.running

    def guard(self) -> None:
        if self.busy:
            raise SessionBusyError("tracking is running: cancel it or wait before changing annotations")

    @contextmanager
    def undoable(self, description: str, region: Region, atomic: bool = True) -> Iterator[None]:
        """Run a store change as one undoable step (the region says which masks it may touch).

        atomic: all of it commits together or not at all. A tracking run is not atomic: each frame
        commits on its own (a crash or Ctrl+C keeps what was done) and whatever was done is one step.
        """
        with self.lock:
            before = capture(self.store, region)
            if atomic:
                with self.store.transaction():
                    yield
            else:
                try:
                    yield
                finally:
                    self.history.push(StoreChange(description, self.store, before, capture(self.store, region)))
                return
            self.history.push(StoreChange(description, self.store, before, capture(self.store, region)))

    # output -------------------------------------------------------------------------------------------
    def set_output_mode(self, mode: str, tolerance: float | None = None) -> None:
        check_output_mode(mode)
        self.output_mode = mode
        self.tolerance = self.tolerance if tolerance is None else float(tolerance)
        self.observers.emit(PROJECT_CHANGED, what="output mode")

    def shape_for(self, object_id: int, label: str, mask: np.ndarray, score=None) -> Shape | None:
        return output.shape_for(self.output_mode, self.tolerance, object_id, label, mask, score)

    def save_mask(
        self, frame: int, object_id: int, label: str, mask: np.ndarray, score, source: str, shape: Shape | None = None
    ) -> None:
        shape = shape or self.shape_for(object_id, label, mask, score)
        self.store.put_mask(frame, object_id, rle.encode(mask), score=score, source=source, shape=shape)

    def shapes(self, frame: int | None = None) -> dict[int, Shape]:
        """The shapes on a frame in the current output mode (what a GUI draws)."""
        return output.frame_shapes(
            self.store, self.current_frame if frame is None else frame, self.output_mode, self.tolerance
        )
