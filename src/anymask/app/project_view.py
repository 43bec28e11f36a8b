"""What the window shows of a project, read from the session: object rows, timeline rows, frame layers."""

from __future__ import annotations

from ..annotations import rle
from ..session import Session
from .canvas import ObjectLayer

FALLBACK_COLOR = (255, 0, 0)


def _colors(session: Session) -> dict[str, tuple[int, int, int]]:
    return {label.name: label.color for label in session.store.labels()}


def object_rows(session: Session, hidden: set[int]) -> list[tuple]:
    """(object id, label, colour, shown, frames with a mask) for the object panel."""
    store, colors = session.store, _colors(session)
    return [
        (o, label, colors.get(label, FALLBACK_COLOR), o not in hidden, len(store.annotated_frames(o)))
        for o, label in store.objects().items()
    ]


def timeline_rows(session: Session) -> list[tuple]:
    """(object id, label, colour, {frame: present|low|absent}, prompted frames) for the timeline."""
    store, colors, rows = session.store, _colors(session), []
    for object_id, label in store.objects().items():
        states = {frame: "present" for frame in store.annotated_frames(object_id)}
        states.update(session.timeline(object_id))
        prompted = sorted({prompt["frame"] for prompt in store.prompts(object_id)})
        rows.append((object_id, label, colors.get(label, FALLBACK_COLOR), states, prompted))
    return rows


def frame_layers(session: Session, frame: int, hidden: set[int]) -> list[ObjectLayer]:
    """The masks and shapes to draw on a frame: hidden objects and hidden classes left out."""
    store = session.store
    objects = store.objects()
    labels = {label.name: label for label in store.labels()}
    shapes = session.shapes(frame)
    layers = []
    for item in store.masks(frame):
        label = labels.get(objects.get(item.object_id, ""))
        if label is None or not label.visible or item.object_id in hidden:
            continue
        layers.append(
            ObjectLayer(item.object_id, label.name, label.color, rle.decode(item.rle), shapes.get(item.object_id))
        )
    return layers
