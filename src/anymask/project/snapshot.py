"""Snapshots of a project's state over a region (frames x objects), restored exactly: the basis of undo/redo."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .store import ProjectStore


@dataclass(frozen=True)
class Region:
    """The masks a change may touch: frames `first..last` (None: all) of `objects` (None: all).

    Labels, objects and prompts are small and always captured whole.
    """

    first: int | None = None
    last: int | None = None
    objects: tuple[int, ...] | None = None

    @classmethod
    def frames(cls, first: int, last: int, objects: Sequence[int] | None = None) -> "Region":
        return cls(min(first, last), max(first, last), None if objects is None else tuple(objects))

    @classmethod
    def whole_objects(cls, objects: Sequence[int]) -> "Region":
        return cls(None, None, tuple(objects))

    def where(self) -> tuple[str, list]:
        clauses, values = [], []
        if self.first is not None:
            clauses.append("frame BETWEEN ? AND ?")
            values += [self.first, self.last]
        if self.objects is not None:
            clauses.append(f"object_id IN ({','.join('?' * len(self.objects))})" if self.objects else "0")
            values += list(self.objects)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", values


@dataclass(frozen=True)
class Snapshot:
    region: Region
    labels: list[tuple]
    objects: list[tuple]
    prompts: list[tuple]
    masks: list[tuple]
    presence: list[tuple]


MASK_COLUMNS = "frame, object_id, rle, shape, score, source"
PRESENCE_COLUMNS = "frame, object_id, presence, iou"


def capture(store: ProjectStore, region: Region) -> Snapshot:
    db = store._db
    where, values = region.where()
    return Snapshot(
        region,
        db.execute("SELECT name, color, visible, position FROM labels").fetchall(),
        db.execute("SELECT object_id, label FROM objects").fetchall(),
        db.execute("SELECT prompt_id, frame, object_id, points, box FROM prompts").fetchall(),
        db.execute(f"SELECT {MASK_COLUMNS} FROM masks{where}", values).fetchall(),
        db.execute(f"SELECT {PRESENCE_COLUMNS} FROM presence{where}", values).fetchall(),
    )


def restore(store: ProjectStore, snapshot: Snapshot) -> None:
    """Put the project back as it was in the snapshot's region (and its labels, objects and prompts)."""
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO labels(name, color, visible, position) VALUES (?, ?, ?, ?) ON CONFLICT(name) "
            "DO UPDATE SET color = excluded.color, visible = excluded.visible, position = excluded.position",
            snapshot.labels,
        )
        keep = [row[0] for row in snapshot.objects]
        db.execute(f"DELETE FROM objects WHERE object_id NOT IN ({','.join('?' * len(keep))})", keep)
        db.executemany(
            "INSERT INTO objects(object_id, label) VALUES (?, ?) "
            "ON CONFLICT(object_id) DO UPDATE SET label = excluded.label",
            snapshot.objects,
        )
        names = [row[0] for row in snapshot.labels]
        db.execute(f"DELETE FROM labels WHERE name NOT IN ({','.join('?' * len(names))})", names)
        db.execute("DELETE FROM prompts")
        db.executemany(
            "INSERT INTO prompts(prompt_id, frame, object_id, points, box) VALUES (?, ?, ?, ?, ?)", snapshot.prompts
        )
        where, values = snapshot.region.where()
        db.execute(f"DELETE FROM masks{where}", values)
        db.executemany(f"INSERT INTO masks({MASK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", snapshot.masks)
        db.execute(f"DELETE FROM presence{where}", values)
        db.executemany(f"INSERT INTO presence({PRESENCE_COLUMNS}) VALUES (?, ?, ?, ?)", snapshot.presence)
