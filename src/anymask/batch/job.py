"""One video of a batch: its project under --out, prompts applied once, tracking that resumes, exports."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..errors import AnymaskError
from ..session.prompt_file import APPLIED_PROMPTS_KEY, apply_prompts_once, prompts_digest, tracking_plan
from ..session.runs import saved_frames
from .manifest import VideoEntry
from .seeds import seed_prompts

FINGERPRINT_KEY = "batch_fingerprint"


@dataclass(frozen=True)
class BatchOptions:
    """The command's options; a manifest entry may override formats, direction, start and end."""

    formats: tuple[str, ...] = ("coco",)
    model: str = "sam2.1-tiny"
    precision: str = "auto"
    device: str = "cpu"
    mode: str = "polygon"
    tolerance: float = 1.0
    val: float = 0.2  # YOLO's validation share
    empty_frames: bool = False  # YOLO, VOC, X-AnyLabeling: frames without objects too
    direction: str = "forward"
    start: int | None = None
    end: int | None = None
    threads: int | None = None  # torch threads in each task (None: leave torch's choice)

    def for_entry(self, entry: VideoEntry) -> BatchOptions:
        return replace(
            self,
            formats=entry.formats or self.formats,
            direction=entry.direction or self.direction,
            start=self.start if entry.start is None else entry.start,
            end=self.end if entry.end is None else entry.end,
        )

    def result_settings(self) -> dict:
        """What decides a video's result (threads do not)."""
        settings = asdict(self)
        settings.pop("threads")
        settings["model"] = str(self.model)
        return settings


@dataclass
class VideoResult:
    """A video's line in summary.json."""

    path: str
    name: str
    status: str  # done | failed | skipped
    frames: int = 0
    objects: int = 0
    seconds: float = 0.0
    error: str | None = None
    tracked: int = 0  # frames this attempt tracked (a resumed attempt skips those saved before)
    resumed_from: int | None = None  # frames found saved when this attempt began
    fingerprint: str = ""
    outputs: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


_MODELS: dict[tuple, object] = {}


def shared_model(options: BatchOptions):
    """The model for these options, loaded once per worker process and reused by its next videos."""
    from ..models.loading import load_model

    key = (str(options.model), options.precision, options.device)
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = load_model(options.model, device=options.device, precision=options.precision, progress=False)
    return _MODELS[key]


def track_video(
    entry: VideoEntry, options: BatchOptions, out: Path, report: Callable[[dict], None] | None = None
) -> VideoResult:
    """Track one video of a batch into `out/<name>/` and export it; errors become a failed result."""
    begun = time.perf_counter()
    options = options.for_entry(entry)
    result = VideoResult(
        str(entry.path), entry.name, "failed", fingerprint=entry.fingerprint(options.result_settings())
    )
    if options.threads:
        import torch

        torch.set_num_threads(options.threads)
    try:
        _run(entry, options, Path(out) / entry.name, result, report or (lambda event: None))
        result.status = "done"
    except (AnymaskError, ValueError, OSError) as exc:
        message = str(exc) or type(exc).__name__
        result.error = message if str(entry.path) in message else f"{entry.path}: {message}"
    result.seconds = round(time.perf_counter() - begun, 3)
    return result


def _run(entry: VideoEntry, options: BatchOptions, folder: Path, result: VideoResult, report) -> None:
    session, prompts = _open(entry, options, folder / "project", result.fingerprint)
    with session:
        store = session.store
        count = len(session.source)
        first = 0 if options.start is None else options.start
        last = count - 1 if options.end is None else options.end
        if not 0 <= first <= last < count:
            raise AnymaskError(f"{entry.where}: start {first} / end {last}: the video has frames 0..{count - 1}")
        apply_prompts_once(session, prompts)  # a rerun finds them applied (the project keeps their digest)
        passes = tracking_plan(prompts, options.direction, first, last)
        wanted = {f for _, start, end in passes for f in range(min(start, end), max(start, end) + 1)}
        done = wanted & saved_frames(store, store.objects())
        result.resumed_from = len(done)
        event = {"name": entry.name, "pid": os.getpid(), "total": len(wanted)}
        report({**event, "done": len(done), "frame": None})

        def progress(frame: int, count: int) -> None:
            done.add(frame)
            result.tracked += 1
            report({**event, "done": len(done), "frame": frame})

        for direction, start, end in passes:
            session.track(direction, start=start, end=end, progress=progress, resume=True)
        for name in options.formats:
            result.outputs[name] = str(
                session.export(name, folder / name, val=options.val, empty_frames=options.empty_frames)
            )
        result.frames, result.objects = len(done), len(store.objects())


def _open(entry: VideoEntry, options: BatchOptions, project: Path, fingerprint: str):
    """The video's session and its prompts (the entry's, or seeds from detections). A project left by a run
    with other inputs, or cut off while its prompts were applied (objects but not their digest), is redone."""
    from ..session import Session

    def open_session():
        return Session(
            entry.path,
            project,
            model=shared_model(options),
            device=options.device,
            output_mode=options.mode,
            tolerance=options.tolerance,
        )

    session = open_session()
    try:
        prompts = list(entry.prompts) if entry.prompts is not None else seed_prompts(entry.seeds, session.source)
    except BaseException:
        session.close()
        raise
    store = session.store
    stale = store.get_meta(FINGERPRINT_KEY) not in (None, fingerprint) or (
        bool(store.objects()) and store.get_meta(APPLIED_PROMPTS_KEY) != prompts_digest(prompts)
    )
    if stale:
        session.close()
        shutil.rmtree(project)
        session = open_session()
    session.store.set_meta(FINGERPRINT_KEY, fingerprint)
    return session, prompts
