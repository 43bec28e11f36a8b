"""The workflow the random-kill test SIGKILLs: a Session that prompts, tracks, undoes, renames and exports forever.

It runs in children of a multiprocessing forkserver that imported torch and the session once, so each of the
test's twenty children starts in well under a second instead of importing torch again (about 3 s each).
"""

from __future__ import annotations

import itertools
import multiprocessing
from multiprocessing.connection import Connection
from pathlib import Path

PHASES = ["open", "prompt", "finish", "track", "undo", "redo", "rename", "export"]
PRELOADED = ["torch", "anymask.session", "anymask.formats"]


def context() -> multiprocessing.context.BaseContext:
    """A forkserver context whose server has imported the workflow's heavy modules (no torch threads yet)."""
    forkserver = multiprocessing.get_context("forkserver")
    forkserver.set_forkserver_preload([*PRELOADED, __name__])
    return forkserver


def run(frames: str, project: str, checkpoint: str, out: str, phases: Connection) -> None:
    """Report each phase's name on `phases` as it ends; runs until killed."""
    from anymask.session import Session

    session = Session(frames, project_folder=project, model=checkpoint)
    step = phases.send
    step("open")
    for cycle in itertools.count():
        objects = session.store.objects()
        if len(objects) >= 2:  # keep the work per cycle small
            session.remove_object(min(objects))
            step("remove")
        object_id = max(objects, default=0) + 1
        session.set_frame(cycle % 2)
        session.mark(object_id)
        session.add_point(150 + 40 * (object_id % 10), 200, True)
        step("prompt")
        session.finish_object(f"class{object_id % 3}")
        step("finish")
        session.track("forward", end=cycle % 2 + 1, resume=True)
        step("track")
        session.undo()
        step("undo")
        session.redo()
        step("redo")
        names = session.labels.names()
        session.labels.rename(names[0], names[0] + "x" if len(names[0]) < 12 else "class0")
        step("rename")
        session.export("coco", Path(out) / "coco")
        step("export")
