"""The whole workflow on a real clip: mark two objects, track, correct, undo/redo, edit, relabel, export, reopen."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from anymask.errors import SessionBusyError
from anymask.session import Session

from conftest import step, write_clip


@pytest.fixture
def clip(media_dir, tmp_path):
    return write_clip(media_dir, tmp_path / "clip", count=5, step=3)


def masks_by_frame(store) -> dict:
    return {
        frame: {m.object_id: (json.dumps(m.rle), m.source) for m in store.masks(frame)}
        for frame in store.annotated_frames()
    }


@pytest.mark.slow
def test_whole_workflow(clip, edgetam_checkpoint, tmp_path):
    with Session(clip, model=edgetam_checkpoint) as session:
        with step("clicks are undoable while marking, exactly"):
            first = session.add_point(300, 200)
            session.add_point(320, 260)
            assert session.undo() == "add point"
            assert session.pending_prompts[0] == [(300.0, 200.0, 1)]
            np.testing.assert_array_equal(session.pending_prompts[2], first)
            assert session.redo() == "add point"
            assert len(session.pending_prompts[0]) == 2
            assert session.finish_object() == 1  # ids start at 1
            session.add_box(500, 300, 650, 500)
            assert session.finish_object("car") == 2
            assert session.store.objects() == {1: "object1", 2: "car"}

        with step("track forward from frame 0, every frame saved"):
            assert session.track("forward") == [0, 1, 2, 3, 4]
            tracked = masks_by_frame(session.store)
            assert set(tracked) == {0, 1, 2, 3, 4}

        with step("correct object 1 on frame 2: only frames 2.. are re-tracked, frames 0..1 stay as they were"):
            session.set_frame(2)
            session.mark(1)
            session.add_point(310, 210)
            session.add_point(100, 500, positive=False)
            assert session.finish_object() == 1  # a correction keeps its id and label
            assert session.store.mask_sources(2)[1] == "prompt"
            assert session.track() == [2, 3, 4]
            corrected = masks_by_frame(session.store)
            assert {f: corrected[f] for f in (0, 1)} == {f: tracked[f] for f in (0, 1)}

        with step("undo the re-track and the correction; redo brings them back"):
            assert session.undo().startswith("track forward from frame 3")  # frames counted from 1
            assert session.undo() == "finish object1"
            assert masks_by_frame(session.store) == tracked
            assert len(session.store.prompts(1)) == 1
            session.redo(), session.redo()
            assert masks_by_frame(session.store) == corrected

        with step("edit a vertex: the mask follows the shape, and undo puts both back"):
            shape = session.edit.shape(3, 2)
            before = session.store.mask(3, 2)
            x, y = shape.points[0]
            x, y = x + (60 if x < 384 else -60), y + (60 if y < 288 else -60)  # towards the middle of the frame
            session.edit.move_vertex(3, 2, 0, x, y)
            after = session.store.mask(3, 2)
            assert not np.array_equal(after, before) and session.store.mask_sources(3)[2] == "edited"
            session.undo()
            np.testing.assert_array_equal(session.store.mask(3, 2), before)
            session.redo()

        with step("the edited shape is kept when tracking again (keep_manual_shapes), overwritten when switched off"):
            session.set_frame(3)
            session.track(end=3)  # just frame 3
            np.testing.assert_array_equal(session.store.mask(3, 2), after)
            session.keep_manual_shapes = False
            session.track(end=3)
            assert session.store.mask_sources(3)[2] == "tracked"
            session.undo()
            assert session.store.mask_sources(3)[2] == "edited"

        with step("relabel, rename, recolour, merge; undo a relabel"):
            session.labels.relabel_object(1, "person")
            session.labels.rename("car", "vehicle")
            session.labels.recolor("vehicle", (1, 2, 3))
            assert session.store.objects() == {1: "person", 2: "vehicle"}
            assert session.labels.get("vehicle").color == (1, 2, 3)
            assert session.shapes(4)[2].label == "vehicle"
            session.labels.merge("person", "vehicle")
            assert set(session.store.objects().values()) == {"vehicle"} and session.labels.names() == ["vehicle"]
            session.undo()
            assert session.store.objects() == {1: "person", 2: "vehicle"}

        coco = session.export("coco", tmp_path / "coco")
        final = masks_by_frame(session.store)

    from pycocotools.coco import COCO

    data = COCO(str(coco))
    assert {c["name"] for c in data.loadCats(data.getCatIds())} == {"person", "vehicle"}
    assert len(data.getAnnIds()) == sum(len(v) for v in final.values())
    with Session(clip, model=edgetam_checkpoint) as reopened:
        assert reopened.store.objects() == {1: "person", 2: "vehicle"}
        assert masks_by_frame(reopened.store) == final
        assert reopened.timeline(1)[4] in ("present", "low", "absent")


@pytest.mark.slow
def test_background_tracking_cancel_and_busy(clip, edgetam_checkpoint):
    with Session(clip, model=edgetam_checkpoint) as session:
        session.add_point(300, 200)
        session.finish_object()
        events, first_frame = [], threading.Event()

        def observe(event):
            events.append(event.kind)
            if event.kind == "tracking_progress" and event.data["frame"] == 1:
                first_frame.set()

        session.subscribe(observe)
        job = session.start_tracking("forward")
        assert first_frame.wait(120)
        with pytest.raises(SessionBusyError, match="tracking is running"):
            session.add_point(10, 10)
        job.cancel()
        assert job.wait(120) and job.cancelled and job.error is None
        assert 2 <= len(job.frames) < 5 and job.frames == session.store.annotated_frames()
        assert events[-1] == "tracking_finished" and not session.busy
        assert session.undo().startswith("track forward")  # a cancelled run is undoable too
        assert session.store.annotated_frames() == [0]


def test_prefetch_computes_the_frame_ahead(clip, edgetam_checkpoint):
    with Session(clip, model=edgetam_checkpoint, prefetch=True) as session:
        session.set_frame(2)
        for _ in range(600):
            if {2, 3} <= set(session.host.embedded_frames):
                break
            threading.Event().wait(0.1)
        assert {2, 3} <= set(session.host.embedded_frames)
        assert session.prefetch_error is None


def test_tracking_progress_reaches_its_total(clip, edgetam_checkpoint):
    with Session(clip, model=edgetam_checkpoint) as session:
        session.add_point(300, 200)
        session.finish_object()
        runs = []

        def observe(event):
            if event.kind == "tracking_started":
                runs.append([event.data["total"], 0])
            elif event.kind == "tracking_progress":
                runs[-1][1] += 1
                assert event.data["done"] <= event.data["total"]

        session.subscribe(observe)
        # backward from frame 0 has nothing to do: the total must not count it (the bar stopped at 5/6)
        assert session.track("both", start=0) == [0, 1, 2, 3, 4]
        assert session.track("backward", start=0) == []
        assert session.track("both", start=2, end=None) == [2, 3, 4, 2, 1, 0]
        assert runs == [[5, 5], [0, 0], [6, 6]]
        assert session.undo() == "track both from frame 3"
        assert session.undo() == "track both from frame 1"  # the run that did nothing left no step
