"""Polygons traced once per mask: ahead of an export on every core, and kept on disk between exports."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import rle as rle_codec
from .geometry import Polygon, join_rings, mask_to_polygons
from .trace_workers import TracePool, WorkerFailed

CACHE_FILE = "polygons.sqlite"
POOL_THRESHOLD = 64  # fewer masks to trace than this are traced in this process: a pool costs ~0.5 s to start
LOOKAHEAD_PER_WORKER = 3  # frames queued per worker ahead of the one being written


@dataclass(frozen=True)
class Tracing:
    """The rings an exporter wants: the simplification tolerance, the coordinate convention (pixel indices
    or pixel edges, see mask_to_polygons), and one ring per component (holes bridged in) or one ring for
    the whole mask (`joined`, for formats with one polygon per object)."""

    tolerance: float = 1.0
    pixel_edges: bool = False
    joined: bool = False


def trace(rle: dict, tracing: Tracing) -> list[np.ndarray]:
    """The rings of one RLE mask (see trace_mask)."""
    return trace_mask(rle_codec.decode(rle), tracing)


def trace_mask(mask: np.ndarray, tracing: Tracing) -> list[np.ndarray]:
    """The rings of a mask: each component's ring with its holes bridged in, or all joined in one."""
    polygons = mask_to_polygons(mask, tracing.tolerance, pixel_edges=tracing.pixel_edges)
    if tracing.joined:
        ring = single_ring(polygons)
        return [] if ring is None else [ring]
    return [p.ring() for p in polygons if len(p.exterior) >= 3]


def single_ring(polygons: list[Polygon]) -> np.ndarray | None:
    """One ring covering several components (joined by zero-width bridges), holes included."""
    rings = [p.ring() for p in polygons if len(p.exterior) >= 3]
    return join_rings(rings) if rings else None


def trace_all(rles: list[dict], tracing: Tracing) -> list[bytes]:
    """One worker task: the rings of several masks, packed (a frame's masks travel together)."""
    return [pack(trace(rle, tracing)) for rle in rles]


def mask_key(rle: dict) -> bytes:
    """A digest naming a mask's pixels: its size and its runs."""
    counts = rle["counts"]
    text = counts if isinstance(counts, str | bytes) else json.dumps([int(c) for c in counts])
    data = text if isinstance(text, bytes) else text.encode()
    return hashlib.sha1(f"{rle['size'][0]}x{rle['size'][1]}:".encode() + data).digest()


def pack(rings: list[np.ndarray]) -> bytes:
    """Rings as bytes: their count and lengths (int64), then every vertex as float64 x, y."""
    head = np.asarray([len(rings), *(len(r) for r in rings)], dtype=np.int64).tobytes()
    return head + b"".join(np.asarray(r, dtype=np.float64).tobytes() for r in rings)


def unpack(data: bytes) -> list[np.ndarray]:
    count = int(np.frombuffer(data[:8], dtype=np.int64)[0])
    lengths = np.frombuffer(data[8 : 8 * (count + 1)], dtype=np.int64)
    points = np.frombuffer(data[8 * (count + 1) :], dtype=np.float64).reshape(-1, 2)
    return [part.copy() for part in np.split(points, np.cumsum(lengths)[:-1])] if count else []


class PolygonStore:
    """`<project>/cache/polygons.sqlite`: packed rings under (mask digest, kind of tracing).

    Only a cache: any error reading or writing it turns it off for the rest of the export (the rings are
    traced instead), a damaged file is replaced, and deleting it loses nothing. Entries a complete export
    of their kind did not use are removed at its end, so it holds about one copy per kind of the
    project's polygons."""

    def __init__(self, path: Path):
        self.path = path
        self.connection: sqlite3.Connection | None = None
        self.generation = 0
        for attempt in range(2):
            try:
                self._open()
                return
            except (sqlite3.Error, OSError):
                self.close()
                if attempt == 0:
                    with suppress(OSError):
                        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                            leftover.unlink(missing_ok=True)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = self.connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = OFF")  # a cache: a power cut may lose entries, not the project
        connection.execute(
            "CREATE TABLE IF NOT EXISTS rings (mask BLOB, kind TEXT, used INTEGER, data BLOB,"
            " PRIMARY KEY (mask, kind)) WITHOUT ROWID"
        )
        connection.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER)")
        with connection:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("INSERT OR IGNORE INTO meta VALUES ('generation', 0)")
            connection.execute("UPDATE meta SET value = value + 1 WHERE key = 'generation'")
            self.generation = connection.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]

    @staticmethod
    def kind(tracing: Tracing) -> str:
        return f"{float(tracing.tolerance)!r} {int(tracing.pixel_edges)} {int(tracing.joined)}"

    def get(self, keys: list[bytes], tracing: Tracing) -> dict[bytes, bytes]:
        """The packed rings held for these masks; marks them used by this export."""
        if self.connection is None or not keys:
            return {}
        kind, found = self.kind(tracing), {}
        with self._transaction() as connection:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                rows = connection.execute(
                    f"SELECT mask, data FROM rings WHERE kind = ? AND mask IN ({','.join('?' * len(chunk))})",
                    (kind, *chunk),
                ).fetchall()
                found.update(rows)
            connection.executemany(
                "UPDATE rings SET used = ? WHERE mask = ? AND kind = ?", [(self.generation, k, kind) for k in found]
            )
        return found if self.connection is not None else {}

    def put(self, items: Iterable[tuple[bytes, bytes]], tracing: Tracing) -> None:
        if self.connection is None:
            return
        rows = [(key, self.kind(tracing), self.generation, data) for key, data in items]
        with self._transaction() as connection:
            connection.executemany("INSERT OR REPLACE INTO rings VALUES (?, ?, ?, ?)", rows)

    def prune(self, tracing: Tracing) -> None:
        """After a complete export: drop this kind's rings of masks the project no longer has."""
        if self.connection is None:
            return
        with self._transaction() as connection:
            connection.execute("DELETE FROM rings WHERE kind = ? AND used < ?", (self.kind(tracing), self.generation))

    def close(self) -> None:
        if self.connection is not None:
            with suppress(sqlite3.Error):
                self.connection.close()
            self.connection = None

    @contextmanager
    def _transaction(self):
        try:
            with self.connection:  # commits, or rolls back on an error
                self.connection.execute("BEGIN")
                yield self.connection
        except (sqlite3.Error, OSError):
            self.close()  # a full disk or a damaged file: trace without the cache from here on


def usable_cores() -> int:
    """The cores this process may use, and no more than the threads torch was given where it is loaded
    (a batch task on a shared machine is given its share that way)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    torch = sys.modules.get("torch")
    if torch is not None:
        cores = min(cores, torch.get_num_threads())
    return max(1, cores)


def traced_frames(dataset, tracing: Tracing, workers: int | None = None) -> Iterator:
    """`dataset.each_frame()`, with each instance's polygons for `tracing` ready on it (`Instance.traced`)
    when its frame is yielded, and dropped after: looked up in the project's polygon cache, the rest
    traced a few frames ahead in worker processes while earlier frames are written."""
    cache = PolygonStore(dataset.polygon_cache) if dataset.polygon_cache is not None else None
    workers = usable_cores() if workers is None else workers
    masks = sum(len(dataset.on(frame.index)) for frame in dataset.frames)
    pool = _start_pool(workers) if workers > 1 and masks >= POOL_THRESHOLD else None
    pending: deque[_Queued] = deque()
    ahead = iter(dataset.frames)  # each_frame yields these, in this order
    window = max(1, workers * LOOKAHEAD_PER_WORKER)
    frames = dataset.each_frame()
    try:
        for frame in frames:
            while len(pending) < window and (following := next(ahead, None)) is not None:
                pending.append(_queue(dataset, following, tracing, cache, pool))
            queued = pending.popleft()
            assert queued.frame is frame
            traced = dict(zip(queued.missing, queued.collect(pool, tracing), strict=True))
            if cache is not None and traced:
                cache.put(traced.items(), tracing)
            found = {**queued.found, **traced}
            instances = dataset.on(frame.index)
            for instance, key in zip(instances, queued.keys, strict=True):
                instance.traced[tracing] = unpack(found[key])
            yield frame
            for instance in instances:
                instance.traced.pop(tracing, None)
        if cache is not None:
            cache.prune(tracing)
    finally:
        frames.close()
        if pool is not None:
            pool.close()
        if cache is not None:
            cache.close()


def _start_pool(workers: int) -> TracePool | None:
    """Worker processes, or None where they cannot start (no processes left, no Python to run)."""
    try:
        return TracePool(workers)
    except OSError:
        return None


@dataclass
class _Queued:
    """A frame queued for tracing: its masks' digests (in `dataset.on` order), polygons found in the cache,
    the masks still to trace, and the worker's ticket for them (or, traced here, the result)."""

    frame: object
    keys: list[bytes]
    found: dict[bytes, bytes]
    missing: list[bytes]
    todo: list[dict]
    ticket: int | None = None
    done: list[bytes] | None = None

    def collect(self, pool: TracePool | None, tracing: Tracing) -> list[bytes]:
        if self.done is not None:
            return self.done
        if pool is not None and self.ticket is not None:
            try:
                return pool.result(self.ticket)
            except WorkerFailed:
                pass  # traced here instead
        return trace_all(self.todo, tracing)


def _queue(dataset, frame, tracing: Tracing, cache: PolygonStore | None, pool: TracePool | None) -> _Queued:
    instances = dataset.on(frame.index)
    keys = [mask_key(i.rle) for i in instances]
    rles = dict(zip(keys, (i.rle for i in instances), strict=True))
    found = cache.get(list(rles), tracing) if cache is not None else {}
    missing = [key for key in rles if key not in found]
    queued = _Queued(frame, keys, found, missing, [rles[key] for key in missing])
    if not queued.todo:
        queued.done = []
    elif pool is not None:
        try:
            queued.ticket = pool.submit((queued.todo, tracing))
        except WorkerFailed:
            queued.done = trace_all(queued.todo, tracing)
    else:
        queued.done = trace_all(queued.todo, tracing)
    return queued
