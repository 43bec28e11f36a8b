"""VideoTracker behaviour without the official package: API, errors, bounded memory, stopping early."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from anymask.errors import MediaError
from anymask.sam2 import load_checkpoint
from anymask.tracking import VideoTracker
from anymask.tracking.step import FrameOutput


@pytest.fixture(scope="module")
def model(edgetam_checkpoint):
    """EdgeTAM: the tracker's API, spilling and errors do not depend on the network (SAM 2's tracking is
    checked against the official predictor in test_tracker_parity.py)."""
    return load_checkpoint(edgetam_checkpoint)


@pytest.fixture
def tracker(model, media_dir):
    tracker = VideoTracker(model, media_dir / "tree.avi", ram_window=2)
    yield tracker
    tracker.close()


def test_prompt_errors(tracker):
    assert tracker.num_frames == 68
    with pytest.raises(ValueError, match="outside the video"):
        tracker.add_prompt(68, 1, points=[[10, 10]], labels=[1])
    with pytest.raises(ValueError, match="outside the image"):
        tracker.add_prompt(0, 1, points=[[400, 10]], labels=[1])
    with pytest.raises(ValueError, match="give points"):
        tracker.add_prompt(0, 1)
    with pytest.raises(ValueError, match="shape"):
        tracker.add_prompt(0, 1, mask=np.zeros((5, 5), bool))
    with pytest.raises(RuntimeError, match="add a prompt"):
        next(tracker.propagate())


def test_only_prompted_returns_that_objects_logits(tracker):
    tracker.add_prompt(0, 1, points=[[100, 100]], labels=[1])
    ids_one, one = tracker.add_prompt(0, 2, box=[20, 30, 200, 180], only_prompted=True)
    ids, every = tracker.mask_logits(0)
    assert ids == [1, 2] and ids_one == [2] and one.shape == (1, *every.shape[1:])
    np.testing.assert_array_equal(one[0], every[1])  # object 2's mask, as the frame's results hold it


@pytest.mark.slow
def test_track_a_video_file_and_stop_early(tracker):
    ids, logits = tracker.add_prompt(0, 3, points=[[160, 120]], labels=[1])
    assert ids == [3] and logits.shape == (1, 240, 320) and logits.dtype == np.float32
    tracker.add_prompt(0, 5, box=[20, 30, 120, 200])
    seen = []
    for frame, ids, logits in tracker.propagate():
        seen.append(frame)
        assert ids == [3, 5] and logits.shape == (2, 240, 320)
        if frame == 4:
            break
    assert seen == [0, 1, 2, 3, 4]
    scores = tracker.object_scores(4)
    assert set(scores) == {3, 5} and all(isinstance(v, float) for pair in scores.values() for v in pair)
    assert tracker.object_scores(20) == {}
    memory = tracker.objects[3]
    assert memory.ram_frames <= 2 and memory.recent_frames() == [1, 2, 3, 4]  # older frames spilled to disk
    spilled = memory.get_recent(1)
    assert isinstance(spilled, FrameOutput) and spilled.memory.dtype == torch.bfloat16
    ids, logits = tracker.mask_logits(2)
    assert logits.shape == (2, 240, 320) and np.abs(logits).max() > 0


@pytest.mark.slow
def test_backward_from_a_later_prompt_then_remove_and_reset(tracker):
    tracker.add_prompt(6, 1, points=[[100, 100], [200, 150]], labels=[1, 0])
    frames = [frame for frame, _, _ in tracker.propagate(start_frame=6, reverse=True, max_frames=3)]
    assert frames == [6, 5, 4, 3]
    tracker.add_prompt(3, 2, points=[[50, 60]], labels=[1])  # a new object after tracking ran
    assert tracker.obj_ids == [1, 2]
    tracker.remove_object(1)
    assert tracker.obj_ids == [2]
    tracker.reset()
    assert tracker.obj_ids == [] and tracker.object_scores(3) == {}


@pytest.mark.slow
def test_decode_failure_mid_video_keeps_results(model, media_dir, tmp_path):
    data = (media_dir / "Megamind.avi").read_bytes()
    broken = tmp_path / "broken.avi"
    broken.write_bytes(data[: len(data) // 2])
    tracker = VideoTracker(model, broken)
    tracker.add_prompt(0, 1, points=[[300, 200]], labels=[1])

    def failing_frame(index, _original=tracker.source.frame):
        if index == 2:
            raise MediaError(f"{broken}, frame 2: cannot be decoded (test)")
        return _original(index)

    tracker.source.frame = failing_frame
    done = []
    with pytest.raises(MediaError, match="frame 2"):
        for frame, _, _ in tracker.propagate(max_frames=4):
            done.append(frame)
    assert done == [0, 1] and 1 in tracker.object_scores(1)
    tracker.close()


def test_fill_small_holes_fills_only_small_background_regions():
    from anymask.tracking.holes import fill_small_holes

    logits = torch.full((1, 1, 32, 32), 5.0)
    logits[0, 0, 4, 4] = -3.0  # a 1-pixel hole
    logits[0, 0, 10:20, 10:20] = -3.0  # a 100-pixel hole
    filled = fill_small_holes(logits, max_area=8)
    assert filled[0, 0, 4, 4] == pytest.approx(0.1)
    assert (filled[0, 0, 10:20, 10:20] == -3.0).all()
    assert torch.equal(fill_small_holes(logits, 0), logits)
