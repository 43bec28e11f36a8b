"""Per-object tracking memory: prompted frames in RAM, a bounded window of recent frames, the rest on disk."""

from __future__ import annotations

import os
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..leftovers import remove_dead
from .step import FrameOutput


class LogitStore:
    """Per-frame low-res logits (float32, side x side: 256 x 256 for 1024-pixel input) of one object, in a
    fixed-record file on disk."""

    def __init__(self, folder: Path, name: str, side: int) -> None:
        self.path = folder / f"{name}.logits"
        self.side = side
        self._slots: dict[int, int] = {}
        self._free: list[int] = []
        self._file = open(self.path, "w+b")
        self._record = side * side * 4

    def put(self, frame: int, logits: torch.Tensor) -> None:
        if frame not in self._slots:
            self._slots[frame] = self._free.pop() if self._free else len(self._slots) + len(self._free)
        slot = self._slots[frame]
        self._file.seek(slot * self._record)
        self._file.write(logits.detach().float().cpu().numpy().astype(np.float32).tobytes())

    def get(self, frame: int) -> torch.Tensor | None:
        slot = self._slots.get(frame)
        if slot is None:
            return None
        self._file.seek(slot * self._record)
        data = np.frombuffer(self._file.read(self._record), dtype=np.float32).copy()
        return torch.from_numpy(data).view(1, 1, self.side, self.side)

    def discard(self, frame: int) -> None:
        slot = self._slots.pop(frame, None)
        if slot is not None:
            self._free.append(slot)

    def __contains__(self, frame: int) -> bool:
        return frame in self._slots

    def frames(self) -> list[int]:
        return sorted(self._slots)

    def close(self) -> None:
        self._file.close()


@dataclass
class PromptState:
    """One object's prompt on one frame before it is tracked: enough to put a click back exactly (undo)."""

    known: bool
    points: tuple | None = None
    logits: torch.Tensor | None = None
    scores: tuple | None = None
    pending: tuple | None = None


class ObjectMemory:
    """Everything the tracker keeps for one object."""

    def __init__(self, object_id: int, spill_folder: Path, low_res: int, ram_window: int = 16) -> None:
        self.object_id = object_id
        self.conditioning: dict[int, FrameOutput] = {}  # prompted frames (never dropped)
        self.pending: dict[int, tuple[FrameOutput, bool]] = {}  # prompted, memory not encoded yet -> from_points
        self.tracked: dict[int, bool] = {}  # frame -> tracked in reverse
        self.scores: dict[int, tuple[float, float]] = {}  # frame -> (object score logit, predicted IoU)
        self.points: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self.logits = LogitStore(spill_folder, f"object{object_id}", low_res)
        self._recent: OrderedDict[int, FrameOutput] = OrderedDict()
        self._spilled: dict[int, Path] = {}
        self._spill_folder = spill_folder
        self.ram_window = ram_window

    # recent (non-conditioning) outputs: bounded RAM, the rest spilled to disk ----------------------
    def put_recent(self, frame: int, output: FrameOutput) -> None:
        self._recent[frame] = output
        self._recent.move_to_end(frame)
        self._spilled.pop(frame, None)
        while len(self._recent) > self.ram_window:
            old_frame, old = self._recent.popitem(last=False)
            path = self._spill_folder / f"object{self.object_id}_frame{old_frame}.pt"
            torch.save(
                {"memory": old.memory, "obj_ptr": old.obj_ptr, "object_score": old.object_score, "iou": old.iou}, path
            )
            self._spilled[old_frame] = path

    def get_recent(self, frame: int) -> FrameOutput | None:
        output = self._recent.get(frame)
        if output is not None or frame not in self._spilled:
            return output
        saved = torch.load(self._spilled[frame], weights_only=True)
        return FrameOutput(torch.empty(0), saved["obj_ptr"], saved["object_score"], saved["iou"], saved["memory"])

    def drop_recent(self, frame: int) -> None:
        self._recent.pop(frame, None)
        path = self._spilled.pop(frame, None)
        if path is not None:
            path.unlink(missing_ok=True)

    def window(self, frame: int, reverse: bool, num_maskmem: int, max_pointers: int) -> dict[int, FrameOutput]:
        """The non-conditioning outputs SAM 2 may attend to when tracking `frame` in this direction."""
        step = 1 if reverse else -1
        reach = max(num_maskmem - 1, max_pointers - 1)
        found = {}
        for distance in range(1, reach + 1):
            output = self.get_recent(frame + step * distance)
            if output is not None:
                found[frame + step * distance] = output
        return found

    def recent_frames(self) -> list[int]:
        return sorted(set(self._recent) | set(self._spilled))

    @property
    def ram_frames(self) -> int:
        return len(self._recent)

    def prompt_state(self, frame: int) -> PromptState:
        return PromptState(
            True, self.points.get(frame), self.logits.get(frame), self.scores.get(frame), self.pending.get(frame)
        )

    def restore_prompt_state(self, frame: int, state: PromptState) -> None:
        for table, value in ((self.points, state.points), (self.scores, state.scores), (self.pending, state.pending)):
            if value is None:
                table.pop(frame, None)
            else:
                table[frame] = value
        if state.logits is None:
            self.logits.discard(frame)
        else:
            self.logits.put(frame, state.logits)

    def close(self) -> None:
        self.logits.close()


SPILL_PREFIX = "anymask-track-"


def new_spill_folder(parent: Path | None = None) -> tempfile.TemporaryDirectory:
    """A spill folder named after this process, in `parent` (a project's cache) or the temp folder.

    Folders that killed processes left in the same place are removed first.
    """
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    where = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    remove_stale_spills(where)
    return tempfile.TemporaryDirectory(prefix=f"{SPILL_PREFIX}{os.getpid()}-", dir=where)


def remove_stale_spills(folder: Path) -> list[Path]:
    """Spill folders in `folder` whose process is gone; returns what was removed."""
    return remove_dead(folder, SPILL_PREFIX)
