"""Objects tracked together in one pass equal objects tracked one by one (fp32, within 1e-4).

EdgeTAM's random weights keep these fast; the same batched path runs SAM 2 (its parity with the official
predictor, two objects in one batch, is in test_tracker_parity.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anymask import load_model
from anymask.tracking import VideoTracker, batched

from conftest import write_clip

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def clip(media_dir, tmp_path_factory):
    return write_clip(media_dir, tmp_path_factory.mktemp("batch-clip"), count=5, step=2)


@pytest.fixture(scope="module")
def checkpoint(edgetam_checkpoint):
    return edgetam_checkpoint


@pytest.fixture
def batch_sizes(monkeypatch):
    """The size of every batch the tracker runs."""
    sizes: list[int] = []
    original = batched.track_batch

    def counting(model, features, gathered, multimask):
        sizes.append(len(gathered))
        return original(model, features, gathered, multimask)

    monkeypatch.setattr("anymask.tracking.tracker.track_batch", counting)
    return sizes


def _scenario(tracker: VideoTracker) -> list[tuple[int, list[int], np.ndarray]]:
    """Object 1 clicked on frame 0, object 2 boxed on frame 2, object 3 clicked on frame 0 and corrected
    alone on frame 3 after a forward pass, then a reverse pass from frame 3; then object 2 removed."""
    tracker.add_prompt(0, 1, points=[[300, 200]], labels=[1])
    tracker.add_prompt(2, 2, box=[500, 300, 650, 500])
    tracker.add_prompt(0, 3, points=[[120, 300], [160, 330]], labels=[1, 0])
    outputs = list(tracker.propagate())
    tracker.add_prompt(3, 3, points=[[130, 310]], labels=[1], clear_old_points=False)
    outputs += list(tracker.propagate(3, reverse=True))
    tracker.remove_object(2)
    outputs += list(tracker.propagate(0, max_frames=2))
    return outputs


@pytest.mark.slow
def test_together_equals_one_by_one(clip, checkpoint, batch_sizes):
    results = {}
    for object_batch in (8, 1):
        tracker = VideoTracker(
            load_model(checkpoint, precision="fp32"), clip, fill_hole_area=0, object_batch=object_batch
        )
        results[object_batch] = _scenario(tracker)
        tracker.close()
        if object_batch == 8:
            together, batch_sizes[:] = list(batch_sizes), []
    assert max(together) == 3 and max(batch_sizes) == 1  # all three in one batch where their memories align
    assert min(together) < 3  # and apart where they do not (object 2 joins on frame 2, 3 is corrected alone)
    for (frame, ids, logits), (frame_1, ids_1, logits_1) in zip(results[8], results[1], strict=True):
        assert (frame, ids) == (frame_1, ids_1)
        np.testing.assert_allclose(logits, logits_1, atol=TOLERANCE, rtol=0, err_msg=f"frame {frame}")
    assert [ids for _, ids, _ in results[8]][-1] == [1, 3]


def test_each_object_owns_its_memory(clip, checkpoint):
    """A memory spilled to disk holds one object's tensors, not the whole batch's."""
    tracker = VideoTracker(load_model(checkpoint, precision="fp32"), clip, fill_hole_area=0, ram_window=1)
    for obj in (1, 2, 3):
        tracker.add_prompt(0, obj, points=[[150 * obj, 200]], labels=[1])
    list(tracker.propagate(max_frames=2))
    recent = tracker.objects[2].get_recent(2)
    assert recent.memory.untyped_storage().nbytes() == recent.memory.numel() * 2  # bf16, its own storage
    spilled = sorted(p.stat().st_size for p in Path(tracker._spill.name).glob("object*_frame1.pt"))
    assert len(spilled) == 3 and spilled[-1] < 1.5 * 512 * 64 * 2 + 8192  # one (1, 512, 64) bf16 memory each
    tracker.close()


def test_an_absent_object_batches_with_present_ones(clip, checkpoint, monkeypatch):
    """Objects the occlusion head calls absent on a frame keep their own no-object pointers and memories in
    the batch, and come back, exactly as when tracked alone."""
    from anymask.bench import PRESENCE_BIAS_KEY

    model = load_model(checkpoint, precision="fp32")
    outputs = {}
    for object_batch in (8, 1):
        tracker = VideoTracker(model, clip, fill_hole_area=0, object_batch=object_batch)
        bias = model.state_dict()[PRESENCE_BIAS_KEY]
        tracker.add_prompt(0, 1, points=[[300, 200]], labels=[1])
        tracker.add_prompt(0, 2, box=[500, 300, 650, 500])
        frames = []
        for frame, _, logits in tracker.propagate(max_frames=3):
            frames.append(logits)
            if frame == 1:
                bias -= 12.0  # everything absent on frame 2 ...
            if frame == 2:
                bias += 12.0  # ... and present again after
        outputs[object_batch] = frames
        scores = [tracker.object_scores(frame)[obj][0] for frame in range(4) for obj in (1, 2)]
        tracker.close()
    assert scores[4] < 0 and scores[5] < 0 and min(scores[6:]) > 0, scores
    for together, alone in zip(outputs[8], outputs[1], strict=True):
        np.testing.assert_allclose(together, alone, atol=TOLERANCE, rtol=0)
