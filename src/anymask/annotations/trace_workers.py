"""Worker processes that trace polygons: started with `python -m`, fed over pipes, nothing forked or re-imported.

A multiprocessing pool would either fork a process that may hold Qt, torch or tqdm threads, or (spawn)
re-run the caller's script in every worker, which a script without a `__main__` guard does not survive.
Each worker here reads pickled tasks on stdin and writes each result on stdout; a thread per worker
drains its results, so neither side ever blocks on a full pipe.
"""

from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import threading
from pathlib import Path


class WorkerFailed(RuntimeError):
    """A worker died or raised: the caller traces that work itself."""


class TracePool:
    """`workers` tracing processes; `submit` returns a ticket, `result(ticket)` its packed polygons."""

    def __init__(self, workers: int):
        package_root = str(Path(__file__).resolve().parents[2])  # the folder holding `anymask`
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)
        env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1", OPENCV_FOR_THREADS_NUM="1")
        self.processes: list[subprocess.Popen] = []
        try:
            for _ in range(workers):
                self.processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "anymask.annotations.trace_workers"],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                        env=env,
                    )
                )
        except OSError:
            for process in self.processes:
                process.kill()
                process.wait()
            raise
        self.results = [queue.Queue() for _ in self.processes]
        self.readers = [
            threading.Thread(target=_drain, args=(p.stdout, q), daemon=True)
            for p, q in zip(self.processes, self.results, strict=True)
        ]
        for reader in self.readers:
            reader.start()
        self.submitted = 0
        self.collected = 0

    def submit(self, task: tuple) -> int:
        """Queue `trace_all(*task)` on the next worker in turn; results come back in submission order."""
        ticket = self.submitted
        process = self.processes[ticket % len(self.processes)]
        try:
            pickle.dump(task, process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            process.stdin.flush()
        except (BrokenPipeError, OSError) as error:
            raise WorkerFailed(f"a polygon worker stopped: {error}") from None
        self.submitted += 1
        return ticket

    def result(self, ticket: int) -> list[bytes]:
        if ticket != self.collected:
            raise ValueError("results are collected in the order they were submitted")
        self.collected += 1
        kind, value = self.results[ticket % len(self.processes)].get()
        if kind != "ok":
            raise WorkerFailed(value)
        return value

    def close(self) -> None:
        for process in self.processes:
            try:
                process.stdin.close()
            except OSError:
                pass
        for process in self.processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _drain(stream, results: queue.Queue) -> None:
    while True:
        try:
            results.put(pickle.load(stream))
        except Exception:  # EOF or a damaged message: the worker is gone
            results.put(("error", "a polygon worker stopped"))
            return


def serve(source=None, sink=None) -> None:
    """The worker's loop: a task in, its packed polygons (or the error's text) out, until stdin closes."""
    from .polygon_cache import trace_all

    source = source or sys.stdin.buffer
    sink = sink or sys.stdout.buffer
    while True:
        try:
            task = pickle.load(source)
        except EOFError:
            return
        try:
            reply = ("ok", trace_all(*task))
        except Exception as error:  # reported to the caller, which traces this work itself
            reply = ("error", f"{type(error).__name__}: {error}")
        pickle.dump(reply, sink, protocol=pickle.HIGHEST_PROTOCOL)
        sink.flush()


if __name__ == "__main__":
    serve()
