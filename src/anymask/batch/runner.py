"""Batch runs on Ray: one task per video, progress streamed back, summary.json so that reruns skip finished work."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from ..atomic import atomic_write_text
from ..errors import AnymaskError
from .job import BatchOptions, VideoResult, track_video
from .manifest import VideoEntry, read_manifest

SUMMARY_NAME = "summary.json"
FINISHED = ("done", "skipped")
RAY_HINT = "batch runs need Ray: pip install 'anymask[batch]'"


@dataclass
class BatchSummary:
    """The outcome of a batch run, in manifest order (also written to `out/summary.json`)."""

    videos: list[VideoResult]
    path: Path

    @property
    def failed(self) -> int:
        return sum(video.status == "failed" for video in self.videos)


def import_ray():
    try:
        import ray
    except ImportError:
        raise AnymaskError(RAY_HINT) from None
    return ray


def run(
    manifest: str | Path,
    out: str | Path,
    options: BatchOptions | None = None,
    address: str | None = None,
    workers: int | None = None,
    gpus_per_task: float = 0.0,
    max_retries: int = 3,
    on_event: Callable[[dict], None] | None = None,
    on_result: Callable[[VideoResult], None] | None = None,
    progress: bool = False,
) -> BatchSummary:
    """Track every video of a manifest as one Ray task each, and export it under `out/<video name>/`.

    A local Ray cluster is started unless `address` names one ("auto", "ray://host:port"). Videos whose
    summary line says done with the same inputs are skipped. A task whose worker dies is retried up to
    `max_retries` times and resumes from the frames its project saved. `on_event` gets each progress
    event ({"name", "pid", "frame", "done", "total"}), `on_result` each finished video.
    """
    options = options or BatchOptions()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise AnymaskError(f"{out}: --out names a file; give a folder")
    entries = read_manifest(manifest)
    out.mkdir(parents=True, exist_ok=True)
    previous = _previous_results(out / SUMMARY_NAME)
    results: dict[str, VideoResult] = {}
    todo = []
    for entry in entries:
        fingerprint = entry.fingerprint(options.for_entry(entry).result_settings())
        before = previous.get(entry.name)
        if before is not None and before.status in FINISHED and before.fingerprint == fingerprint:
            results[entry.name] = replace(before, status="skipped")
        else:
            todo.append(entry)
    summary = BatchSummary([], out / SUMMARY_NAME)

    def finished(result: VideoResult) -> None:
        results[result.name] = result
        summary.videos = [results[e.name] for e in entries if e.name in results]
        _write_summary(summary)
        if on_result is not None:
            on_result(result)

    for entry in entries:
        if entry.name in results and on_result is not None:
            on_result(results[entry.name])
    if todo:
        _run_on_ray(todo, options, out, address, workers, gpus_per_task, max_retries, on_event, finished, progress)
    summary.videos = [results[e.name] for e in entries]
    _write_summary(summary)
    return summary


def _run_on_ray(todo, options, out, address, workers, gpus_per_task, max_retries, on_event, finished, progress):
    ray = import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        _start_ray(ray, address)
    try:
        cpus = _cpus_per_task(ray, workers)
        options = replace(
            options, threads=cpus, device="cuda" if gpus_per_task and options.device == "cpu" else options.device
        )
        board = ray.remote(num_cpus=0)(ProgressBoard).remote()
        task = ray.remote(_video_task).options(
            num_cpus=cpus, num_gpus=gpus_per_task, max_retries=max_retries, retry_exceptions=False
        )
        pending = {task.remote(entry, options, str(out), board): entry for entry in todo}
        bar = _ProgressBar(len(todo), progress)
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                for event in ray.get(board.drain.remote()):
                    bar.event(event)
                    if on_event is not None:
                        on_event(event)
                for ref in ready:
                    entry = pending.pop(ref)
                    result = _task_result(ray, ref, entry)
                    bar.result(result)
                    finished(result)
        finally:
            bar.close()
    finally:
        if started_here:
            ray.shutdown()


def _start_ray(ray, address: str | None, cpus: int | None = None) -> None:
    """Join the cluster at `address`, or start a local one on `cpus` of this machine's cores (default: all)."""
    settings = {"logging_level": logging.ERROR, "log_to_driver": False}
    if address is None:  # a local cluster on this machine
        settings.update(
            num_cpus=cpus or os.cpu_count() or 1, include_dashboard=False, object_store_memory=256 * 1024**2
        )
    try:
        ray.init(address=address, **settings)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        raise AnymaskError(f"cannot join the Ray cluster at {address or 'local'}: {str(exc).splitlines()[0]}") from None


def _cpus_per_task(ray, workers: int | None) -> int:
    """CPUs (and torch threads) per task: the cluster's CPUs shared by `workers` tasks (default: 2 each)."""
    total = int(ray.cluster_resources().get("CPU", 1))
    largest_node = max((int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")), default=total)
    workers = workers or max(1, total // 2)
    return max(1, min(total // max(1, workers), largest_node))


def _task_result(ray, ref, entry: VideoEntry) -> VideoResult:
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:  # the worker died past its retries, or the task was cancelled
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return VideoResult(str(entry.path), entry.name, "failed", error=f"{entry.path}: {first}")


def _video_task(entry: VideoEntry, options: BatchOptions, out: str, board) -> VideoResult:
    """One Ray task: a video tracked and exported, progress sent to the board."""
    return track_video(entry, options, Path(out), report=lambda event: board.report.remote(event))


class ProgressBoard:
    """A Ray actor the tasks post progress events to and the driver drains."""

    def __init__(self) -> None:
        self.events: list[dict] = []

    def report(self, event: dict) -> None:
        self.events.append(event)

    def drain(self) -> list[dict]:
        events, self.events = self.events, []
        return events


class _ProgressBar:
    """One bar over every video's frames (videos done, fps, ETA) and a line per finished video."""

    def __init__(self, videos: int, shown: bool) -> None:
        from tqdm import tqdm

        self.videos, self.finished, self.begun = videos, 0, time.perf_counter()
        self.done: dict[str, int] = {}
        self.totals: dict[str, int] = {}
        self.tracked = 0
        self.bar = tqdm(total=0, unit="frame", desc=f"videos 0/{videos}", disable=not shown)
        self.write = tqdm.write if shown else (lambda line: None)

    def event(self, event: dict) -> None:
        if event.get("frame") is not None:
            self.tracked += 1
        self.done[event["name"]] = event["done"]
        self.totals[event["name"]] = event["total"]
        self.bar.total = sum(self.totals.values())
        self.bar.n = sum(self.done.values())
        fps = self.tracked / max(1e-9, time.perf_counter() - self.begun)
        self.bar.set_postfix(fps=f"{fps:.2f}")

    def result(self, result: VideoResult) -> None:
        self.finished += 1
        self.bar.set_description(f"videos {self.finished}/{self.videos}")
        self.write(describe(result))

    def close(self) -> None:
        self.bar.close()


def describe(result: VideoResult) -> str:
    """A finished video's line: what was done, or its error."""
    if result.status == "failed":
        return f"failed  {result.name}: {result.error}"
    return (
        f"{result.status:<7} {result.name}: {result.frames} frame(s), {result.objects} object(s), "
        f"{result.seconds:.1f} s"
    )


def _previous_results(path: Path) -> dict[str, VideoResult]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        fields = set(VideoResult.__dataclass_fields__)
        videos = [VideoResult(**{k: v for k, v in video.items() if k in fields}) for video in document["videos"]]
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return {}  # none, or unreadable: every video runs
    return {video.name: video for video in videos}


def _write_summary(summary: BatchSummary) -> None:
    document = {"videos": [video.as_dict() for video in summary.videos]}
    atomic_write_text(summary.path, json.dumps(document, indent=2) + "\n")


__all__ = ["BatchSummary", "RAY_HINT", "describe", "import_ray", "read_manifest", "run"]
