"""Review list rules and project snapshots (the basis of undo), without a model."""

from __future__ import annotations

import numpy as np

from anymask.project import ProjectStore
from anymask.project.snapshot import Region, capture, restore
from anymask.session.review import ReviewItem, review_items, timeline


def rows(object_id, values):
    """values: frame -> (presence, iou)"""
    return [(frame, object_id, p, i) for frame, (p, i) in sorted(values.items())]


def test_lost_reappeared_and_confidence_drops():
    present, absent, low = (2.0, 0.9), (-3.0, 0.1), (1.0, 0.2)
    seq = {
        0: present,
        1: present,
        2: absent,
        3: absent,
        4: absent,
        5: present,
        6: low,
        7: present,
        8: absent,
        9: present,
    }
    items = review_items(rows(0, seq) + rows(1, {0: present, 1: present}))
    assert items == [
        ReviewItem(2, 0, "lost"),
        ReviewItem(5, 0, "reappeared"),
        ReviewItem(6, 0, "confidence dropped"),
        ReviewItem(8, 0, "confidence dropped"),
    ]
    assert review_items(rows(0, seq), lost_after=1)[-2:] == [ReviewItem(8, 0, "lost"), ReviewItem(9, 0, "reappeared")]
    assert timeline(rows(0, seq))[6] == "low" and timeline(rows(0, seq))[3] == "absent"


def test_a_gap_in_tracked_frames_is_not_a_loss():
    assert review_items(rows(0, {0: (1.0, 0.9), 5: (-1.0, 0.0), 6: (-1.0, 0.0), 7: (-1.0, 0.0)})) == []


def test_snapshot_restores_region_labels_objects_and_prompts(tmp_path):
    with ProjectStore.open(tmp_path / "p") as store:
        mask = np.zeros((8, 8), bool)
        mask[2:5, 2:5] = True
        a = store.add_object("car")
        store.put_mask(0, a, mask)
        store.put_mask(9, a, mask)
        store.add_prompt(0, a, points=[[3, 3, 1]])
        region = Region.frames(0, 5)
        before = capture(store, region)
        b = store.add_object("person")
        store.put_mask(1, b, mask)
        store.put_mask(0, a, ~mask, source="edited")
        store.rename_label("car", "vehicle")
        store.put_presence(1, {b: (1.0, 0.5)})
        after = capture(store, region)
        restore(store, before)
        assert store.objects() == {a: "car"} and [label.name for label in store.labels()] == ["car"]
        np.testing.assert_array_equal(store.mask(0, a), mask)
        assert store.annotated_frames() == [0, 9] and store.presence() == [] and len(store.prompts()) == 1
        restore(store, after)
        assert store.objects() == {a: "vehicle", b: "person"}
        np.testing.assert_array_equal(store.mask(0, a), ~mask)
        assert store.presence() == [(1, b, 1.0, 0.5)]
        assert store.shapes(0) == {} and store.mask_sources(0) == {a: "edited"}
