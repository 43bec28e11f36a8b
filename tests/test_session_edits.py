"""Edit mode and label manager on stored shapes (no model is loaded for these)."""

from __future__ import annotations

import numpy as np
import pytest

from anymask.session import Session

from conftest import write_clip


@pytest.fixture
def session(media_dir, tmp_path, own_checkpoint):
    clip = write_clip(media_dir, tmp_path / "clip", count=2, step=1)
    with Session(clip, model=own_checkpoint, output_mode="polygon", tolerance=1) as session:
        mask = np.zeros((576, 768), bool)
        mask[100:200, 100:300] = True
        mask[400:450, 600:700] = True  # a second component, not in the edited polygon
        session.store.add_object("car", 0)
        session.save_mask(0, 0, "car", mask, 0.9, "tracked")
        yield session
    assert not session.model_loaded


def test_vertex_edits_keep_the_mask_in_step(session):
    shape = session.edit.shape(0, 0)
    assert shape.shape_type == "polygon" and len(shape.points) == 4
    session.edit.insert_vertex(0, 0, 4, 200, 50)  # a spike above the top edge (between the last and first vertex)
    mask = session.store.mask(0, 0)
    assert mask[60, 200] and not mask[60, 120] and mask[420, 650]  # other component kept
    assert len(session.edit.shape(0, 0).points) == 5
    session.edit.remove_vertex(0, 0, 4)
    assert not session.store.mask(0, 0)[60, 200]
    session.edit.move_shape(0, 0, 10, 0)
    assert session.store.mask(0, 0)[150, 305] and not session.store.mask(0, 0)[150, 105]
    with pytest.raises(ValueError, match="at least 3 points"):
        session.edit.set_points(0, 0, [[0, 0], [5, 5]])
    with pytest.raises(ValueError, match="vertex 9 is outside"):
        session.edit.move_vertex(0, 0, 9, 1, 1)
    with pytest.raises(ValueError, match="no shape on frame 1"):
        session.edit.shape(1, 0)
    session.edit.delete_shape(0, 0)
    assert session.store.annotated_frames() == []
    session.undo()
    assert session.store.mask(0, 0)[150, 305]


def test_rectangle_mode_edits_a_corner(session):
    session.set_output_mode("rectangle")
    shape = session.edit.shape(0, 0)  # re-derived from the mask for the new mode
    assert shape.shape_type == "rectangle" and shape.points == [[100.0, 100.0], [700.0, 450.0]]
    session.edit.move_vertex(0, 0, 1, 350, 250)
    mask = session.store.mask(0, 0)
    assert mask[240, 340] and not mask[420, 650]  # the box's pixels are replaced by the new box's
    with pytest.raises(ValueError, match="polygons only"):
        session.edit.insert_vertex(0, 0, 0, 1, 1)


def test_label_manager_errors_and_hide(session):
    with pytest.raises(ValueError, match="no class named 'bus'"):
        session.labels.rename("bus", "car")
    with pytest.raises(ValueError, match="cannot be empty"):
        session.labels.rename("car", "  ")
    with pytest.raises(ValueError, match="three values"):
        session.labels.recolor("car", (300, 0, 0))
    with pytest.raises(ValueError, match="no object 7"):
        session.labels.relabel_object(7, "car")
    session.labels.set_visible("car", False)
    assert session.labels.get("car").visible is False
    session.labels.delete("car")
    assert session.store.objects() == {} and session.store.count_masks() == 0
    session.undo()
    assert session.store.objects() == {0: "car"} and session.store.count_masks() == 1
    assert session.undo() == "hide car" and session.labels.get("car").visible


def test_a_hole_stays_a_hole_when_the_outline_is_edited(session):
    mask = np.zeros((576, 768), bool)
    mask[300:400, 100:300] = True
    mask[330:370, 150:200] = False  # a hole
    session.store.add_object("ring", 1)
    session.save_mask(1, 1, "ring", mask, 0.9, "tracked")
    shape = session.edit.shape(1, 1)
    assert len(shape.points) == 4  # the outline only; the hole is kept in the mask
    session.edit.move_shape(1, 1, 20, 0)
    edited = session.store.mask(1, 1)
    assert not edited[350, 170] and edited[350, 310] and not edited[350, 110]
