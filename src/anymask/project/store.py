"""ProjectStore: a video's or folder's annotations in SQLite (WAL); every confirmed change commits at once."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..annotations import rle as rle_codec
from ..annotations.label_file import shape_from_dict, shape_to_dict
from ..annotations.shapes import SOURCES, Label, ObjectMask, Shape, palette_color
from ..errors import ProjectError
from .lock import ProjectLock

SCHEMA_VERSION = "1"
DATABASE = "project.sqlite"


def default_project_folder(media_path: str | Path) -> Path:
    """`clip.mp4` -> `clip.mp4.anymask/` beside it; a frame folder `frames/` -> `frames/.anymask/`."""
    media_path = Path(media_path)
    if media_path.is_dir():
        return media_path / ".anymask"
    return media_path.with_name(media_path.name + ".anymask")


def _hex(color: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)


def _rgb(text: str) -> tuple[int, int, int]:
    return tuple(int(text[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _disk_full(folder: Path, margin: int = 1 << 16) -> bool:
    try:
        return shutil.disk_usage(folder).free < margin
    except OSError:
        return False


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA foreign_keys=ON")
    return connection


class ProjectStore:
    """Open with `ProjectStore.open(folder)`; close (or use as a context manager) when done.

    Each thread gets its own SQLite connection (WAL: a reader sees only committed transactions, so a GUI
    refresh never sees half of a tracked frame). Writes are serialised by one lock; each transaction is
    one thread's.
    """

    def __init__(self, folder: Path, connection: sqlite3.Connection, lock: ProjectLock) -> None:
        self.folder = folder
        self._lock = lock
        self._writer = threading.RLock()  # one thread writes at a time (tracking runs in the background)
        self._guard = threading.Lock()
        self._connections: dict[int, sqlite3.Connection] = {threading.get_ident(): connection}
        self._closed = False

    @property
    def _db(self) -> sqlite3.Connection:
        """The calling thread's connection (opened on its first use; those of ended threads are closed)."""
        ident = threading.get_ident()
        connection = self._connections.get(ident)
        if connection is not None:
            return connection
        with self._guard:
            if self._closed:
                raise ProjectError(f"{self.folder}: the project is closed")
            alive = {thread.ident for thread in threading.enumerate()}
            for stale in [i for i in self._connections if i not in alive]:
                self._connections.pop(stale).close()
            connection = self._connections[ident] = _connect(self.folder / DATABASE)
        return connection

    @classmethod
    def open(cls, folder: str | Path, media_path: str | Path | None = None) -> "ProjectStore":
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"{folder}: cannot create project folder ({exc.strerror})") from None
        lock = ProjectLock(folder)
        try:
            connection = _connect(folder / DATABASE)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.executescript((Path(__file__).with_name("schema.sql")).read_text())
            store = cls(folder, connection, lock)
            store._check_schema(media_path)
            return store
        except sqlite3.DatabaseError as exc:
            lock.release()
            if _disk_full(folder):  # SQLite says "disk I/O error" when it cannot create its WAL files
                raise ProjectError(
                    f"{folder}: the disk is full, so the project cannot be opened ({exc}); nothing in it was "
                    "changed: free space and rerun"
                ) from None
            raise ProjectError(f"{folder / DATABASE}: not a readable anymask project ({exc})") from None
        except BaseException:
            lock.release()
            raise

    def _check_schema(self, media_path) -> None:
        version = self.get_meta("schema_version")
        if version is None:
            with self.transaction():
                self.set_meta("schema_version", SCHEMA_VERSION)
                if media_path is not None:
                    self.set_meta("media_path", str(Path(media_path).resolve()))
        elif version != SCHEMA_VERSION:
            raise ProjectError(f"{self.folder}: project schema {version} is newer than this anymask ({SCHEMA_VERSION})")

    def close(self) -> None:
        with self._guard:
            self._closed = True
            connections, self._connections = list(self._connections.values()), {}
        for connection in connections:
            connection.close()
        self._lock.release()

    def integrity_check(self) -> str:
        """SQLite's own check of the database file: "ok", or what is wrong."""
        return self._db.execute("PRAGMA integrity_check").fetchone()[0]

    def __enter__(self) -> "ProjectStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Group several changes into one atomic commit (nested use joins the outer transaction)."""
        with self._writer:
            if self._db.in_transaction:
                yield self._db
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # meta -------------------------------------------------------------------------------------------
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(value)))

    # labels -----------------------------------------------------------------------------------------
    def labels(self) -> list[Label]:
        rows = self._db.execute("SELECT name, color, visible FROM labels ORDER BY position, name").fetchall()
        return [Label(name, _rgb(color), bool(visible)) for name, color, visible in rows]

    def ensure_label(self, name: str, color: tuple[int, int, int] | None = None) -> Label:
        with self.transaction() as db:
            row = db.execute("SELECT color, visible FROM labels WHERE name = ?", (name,)).fetchone()
            if row:
                return Label(name, _rgb(row[0]), bool(row[1]))
            position = db.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM labels").fetchone()[0]
            color = color or palette_color(position)
            db.execute(
                "INSERT INTO labels(name, color, visible, position) VALUES (?, ?, 1, ?)", (name, _hex(color), position)
            )
            return Label(name, color, True)

    def update_label(self, name: str, color: tuple[int, int, int] | None = None, visible: bool | None = None) -> None:
        with self.transaction() as db:
            if color is not None:
                db.execute("UPDATE labels SET color = ? WHERE name = ?", (_hex(color), name))
            if visible is not None:
                db.execute("UPDATE labels SET visible = ? WHERE name = ?", (int(visible), name))

    def rename_label(self, old: str, new: str) -> None:
        """Rename a class everywhere; renaming onto an existing class merges them."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM labels WHERE name = ?", (new,)).fetchone():
                db.execute("UPDATE objects SET label = ? WHERE label = ?", (new, old))
                db.execute("DELETE FROM labels WHERE name = ?", (old,))
            else:
                db.execute("UPDATE labels SET name = ? WHERE name = ?", (new, old))

    def delete_label(self, name: str) -> None:
        """Delete a class and every object of that class with their masks and prompts."""
        with self.transaction() as db:
            db.execute("DELETE FROM objects WHERE label = ?", (name,))
            db.execute("DELETE FROM labels WHERE name = ?", (name,))

    # objects ----------------------------------------------------------------------------------------
    def add_object(self, label: str, object_id: int | None = None) -> int:
        with self.transaction() as db:
            self.ensure_label(label)
            if object_id is None:
                object_id = db.execute("SELECT COALESCE(MAX(object_id) + 1, 1) FROM objects").fetchone()[0]
            db.execute("INSERT INTO objects(object_id, label) VALUES (?, ?)", (int(object_id), label))
            return int(object_id)

    def objects(self) -> dict[int, str]:
        return dict(self._db.execute("SELECT object_id, label FROM objects ORDER BY object_id").fetchall())

    def relabel_object(self, object_id: int, label: str) -> None:
        with self.transaction() as db:
            self.ensure_label(label)
            db.execute("UPDATE objects SET label = ? WHERE object_id = ?", (label, object_id))

    def remove_object(self, object_id: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM objects WHERE object_id = ?", (object_id,))

    # masks ------------------------------------------------------------------------------------------
    def put_mask(
        self,
        frame: int,
        object_id: int,
        mask,
        score: float | None = None,
        source: str = "tracked",
        shape: Shape | None = None,
    ) -> None:
        """Store (or replace) an object's mask on a frame; `mask` is a bool array or a COCO RLE dict."""
        self.put_masks(frame, [(object_id, mask, score, source, shape)])

    def put_masks(self, frame: int, items: Iterable[tuple]) -> None:
        """Several objects' masks on one frame in one commit: (object_id, mask, score, source, shape) tuples."""
        rows = []
        for object_id, mask, score, source, shape in items:
            if source not in SOURCES:
                raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
            encoded = mask if isinstance(mask, dict) else rle_codec.encode(np.asarray(mask, dtype=bool))
            shape_json = json.dumps(shape_to_dict(shape)) if shape is not None else None
            rows.append(
                (
                    int(frame),
                    int(object_id),
                    json.dumps(encoded),
                    shape_json,
                    None if score is None else float(score),
                    source,
                )
            )
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO masks(frame, object_id, rle, shape, score, source) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    def delete_mask(self, frame: int, object_id: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM masks WHERE frame = ? AND object_id = ?", (frame, object_id))

    def delete_masks(self, object_id: int, frames: Iterable[int]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM masks WHERE frame = ? AND object_id = ?", [(f, object_id) for f in frames])

    def masks(self, frame: int) -> list[ObjectMask]:
        rows = self._db.execute(
            "SELECT object_id, rle, score, source FROM masks WHERE frame = ? ORDER BY object_id", (frame,)
        ).fetchall()
        return [ObjectMask(o, json.loads(r), s, src) for o, r, s, src in rows]

    def mask_sources(self, frame: int) -> dict[int, str]:
        """object id -> where its mask on `frame` came from (prompt, tracked, edited, imported), masks not decoded."""
        return dict(self._db.execute("SELECT object_id, source FROM masks WHERE frame = ?", (frame,)).fetchall())

    def mask(self, frame: int, object_id: int) -> np.ndarray | None:
        row = self._db.execute("SELECT rle FROM masks WHERE frame = ? AND object_id = ?", (frame, object_id)).fetchone()
        return rle_codec.decode(json.loads(row[0])) if row else None

    def shapes(self, frame: int) -> dict[int, Shape]:
        """object id -> its shape on `frame`, carrying the object's current label."""
        rows = self._db.execute(
            "SELECT m.object_id, m.shape, o.label FROM masks m JOIN objects o USING (object_id) "
            "WHERE m.frame = ? AND m.shape IS NOT NULL",
            (frame,),
        ).fetchall()
        shapes = {}
        for object_id, text, label in rows:
            shape = shape_from_dict(json.loads(text), str(self.folder), f"frame {frame}")
            shape.label = label
            shapes[object_id] = shape
        return shapes

    def mask_row(self, frame: int, object_id: int) -> ObjectMask | None:
        row = self._db.execute(
            "SELECT rle, score, source FROM masks WHERE frame = ? AND object_id = ?", (frame, object_id)
        ).fetchone()
        return ObjectMask(object_id, json.loads(row[0]), row[1], row[2]) if row else None

    # presence ---------------------------------------------------------------------------------------
    def put_presence(self, frame: int, scores: dict[int, tuple[float, float | None]]) -> None:
        """Per object on a frame: (presence score logit, predicted IoU) as tracking saw it; < 0 means absent."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO presence(frame, object_id, presence, iou) VALUES (?, ?, ?, ?)",
                [(int(frame), int(o), float(p), None if i is None else float(i)) for o, (p, i) in scores.items()],
            )

    def presence(self, object_id: int | None = None) -> list[tuple[int, int, float, float | None]]:
        """(frame, object_id, presence, iou) rows ordered by object and frame."""
        query = "SELECT frame, object_id, presence, iou FROM presence"
        if object_id is None:
            return self._db.execute(query + " ORDER BY object_id, frame").fetchall()
        return self._db.execute(query + " WHERE object_id = ? ORDER BY frame", (object_id,)).fetchall()

    def annotated_frames(self, object_id: int | None = None) -> list[int]:
        if object_id is None:
            rows = self._db.execute("SELECT DISTINCT frame FROM masks ORDER BY frame")
        else:
            rows = self._db.execute("SELECT frame FROM masks WHERE object_id = ? ORDER BY frame", (object_id,))
        return [r[0] for r in rows]

    def count_masks(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM masks").fetchone()[0]

    def mask_extent(self) -> tuple[int, tuple[int, int]] | None:
        """(the last frame with a mask, (height, width) of a mask there); None while there is no mask."""
        row = self._db.execute("SELECT frame, rle FROM masks ORDER BY frame DESC LIMIT 1").fetchone()
        if row is None:
            return None
        height, width = json.loads(row[1])["size"]
        return int(row[0]), (int(height), int(width))

    def masks_per_frame(self) -> dict[int, int]:
        """frame -> how many objects have a mask there (one query, for lists of many images)."""
        return dict(self._db.execute("SELECT frame, COUNT(*) FROM masks GROUP BY frame").fetchall())

    # prompts ----------------------------------------------------------------------------------------
    def add_prompt(self, frame: int, object_id: int, points: list | None = None, box: list | None = None) -> int:
        """Record a prompt: points as [[x, y, label], ...] and/or a box [x1, y1, x2, y2]."""
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO prompts(frame, object_id, points, box) VALUES (?, ?, ?, ?)",
                (int(frame), int(object_id), json.dumps(points or []), json.dumps(box) if box else None),
            )
            return int(cursor.lastrowid)

    def prompts(self, object_id: int | None = None) -> list[dict]:
        query = "SELECT prompt_id, frame, object_id, points, box FROM prompts"
        rows = self._db.execute(
            query + (" WHERE object_id = ?" if object_id is not None else "") + " ORDER BY prompt_id",
            (object_id,) if object_id is not None else (),
        ).fetchall()
        return [
            {"id": p, "frame": f, "object_id": o, "points": json.loads(pts), "box": json.loads(b) if b else None}
            for p, f, o, pts, b in rows
        ]

    def clear_prompts(self, object_id: int, frame: int | None = None) -> None:
        with self.transaction() as db:
            if frame is None:
                db.execute("DELETE FROM prompts WHERE object_id = ?", (object_id,))
            else:
                db.execute("DELETE FROM prompts WHERE object_id = ? AND frame = ?", (object_id, frame))
