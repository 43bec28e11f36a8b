"""The annotation session end to end on a real clip: mark, finish, track, export, reopen."""

from __future__ import annotations

import numpy as np
import pytest

from anymask.session import Session

from conftest import write_clip


@pytest.fixture
def clip(media_dir, tmp_path):
    return write_clip(media_dir, tmp_path / "clip", count=3, step=4, name="frame_{}.jpg")


@pytest.mark.slow
def test_mark_track_export_reopen(clip, edgetam_checkpoint, tmp_path):
    events = []
    with Session(clip, model=edgetam_checkpoint, output_mode="polygon") as session:
        session.subscribe(lambda e: events.append(e.kind))
        mask = session.add_point(300, 200)
        assert mask.shape == (576, 768) and mask.dtype == bool
        session.add_point(100, 100, positive=False)
        assert session.finish_object() == 1
        session.add_box(500, 300, 650, 500)
        with pytest.raises(ValueError, match="outside the image"):
            session.add_point(900, 10)
        assert session.finish_object("car") == 2
        assert session.store.objects() == {1: "object1", 2: "car"}
        progress = []
        assert session.track("forward", progress=lambda frame, done: progress.append(frame)) == [0, 1, 2]
        assert progress == [0, 1, 2]
        assert {m.source for m in session.store.masks(0)} == {"prompt"}
        assert {m.source for m in session.store.masks(2)} <= {"tracked"}
        assert session.store.shapes(0)[1].shape_type == "polygon"
        coco = session.export("coco", tmp_path / "coco")
        assert {"frame_changed", "mask_updated", "object_added", "tracking_started", "tracking_progress"} >= set(events)
        assert events.count("object_added") == 2
    from pycocotools.coco import COCO

    data = COCO(str(coco))
    assert len(data.getImgIds()) == 3 and {c["name"] for c in data.loadCats(data.getCatIds())} == {"object1", "car"}
    with Session(clip, model=edgetam_checkpoint) as reopened:
        assert reopened.store.objects() == {1: "object1", 2: "car"}
        assert reopened.store.annotated_frames() == [0, 1, 2]
        reopened.set_frame(2)
        assert reopened.track("backward", end=1) == [2, 1]  # stored prompts replayed into a new tracker


def test_clear_prompts_and_errors(clip, edgetam_checkpoint):
    with Session(clip, model=edgetam_checkpoint) as session:
        with pytest.raises(ValueError, match="add a point"):
            session.finish_object()
        with pytest.raises(ValueError, match="finish at least one object"):
            session.track()
        mask = session.add_point(300, 200)
        session.clear_prompts()
        assert session.tracker.obj_ids == [] and session.store.objects() == {}
        assert session.undo() == "clear prompts"  # B is undoable: the prompt and its mask come back
        assert session.pending_prompts[0] == [(300, 200, True)] and np.array_equal(session.pending_prompts[2], mask)
        assert session.redo() == "clear prompts" and session.marking is None
        with pytest.raises(ValueError, match="outside the video"):
            session.set_frame(3)
        with pytest.raises(ValueError, match="direction"):
            session.track("sideways")


def test_mask_mode_exports_coco_rle_and_draws_an_outline(clip, edgetam_checkpoint, tmp_path):
    import json

    with Session(clip, model=edgetam_checkpoint, output_mode="mask") as session:
        session.add_box(250, 150, 420, 420)
        object_id = session.finish_object("person")
        assert session.shapes()[object_id].shape_type == "polygon"  # what a person sees and edits
        path = session.export("coco", tmp_path / "coco")
        session.set_output_mode("polygon")
        polygons = session.export("coco", tmp_path / "coco-polygon")
    rle = json.loads(path.read_text())["annotations"][0]["segmentation"]
    assert isinstance(rle, dict) and "counts" in rle and "size" in rle
    assert isinstance(json.loads(polygons.read_text())["annotations"][0]["segmentation"], list)
