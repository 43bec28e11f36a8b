"""VideoTracker equals the official SAM2VideoPredictor within 1e-4 (random weights, a real clip as JPEGs)."""

from __future__ import annotations

import numpy as np
import pytest

from anymask.sam2 import load_checkpoint
from anymask.tracking import VideoTracker

from conftest import SMALL_INPUT, count_chunked_attention, small_input_model, write_clip
from reference import build_official, save_official_checkpoint

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def jpeg_clip(media_dir, tmp_path_factory):
    return write_clip(media_dir, tmp_path_factory.mktemp("clip"), count=4, step=3)


def _pair(folder, tmp_path, object_bias, small_input: pytest.MonkeyPatch | None = None):
    """The official predictor and ours on the same random weights, at 1024 pixels of input, or both at
    SMALL_INPUT where `small_input` (the test's monkeypatch) is given: see `small_input_model`."""
    image_size = SMALL_INPUT if small_input else 1024
    official = build_official(
        "sam2.1-tiny",
        video=True,
        object_bias=object_bias,
        hydra_overrides_extra=[
            "++model.fill_hole_area=0",
            "++model.add_all_frames_to_correct_as_cond=true",
            f"++model.image_size={image_size}",
        ],
    )
    checkpoint = save_official_checkpoint(official, tmp_path / "random.pt")
    model = small_input_model(checkpoint, small_input) if small_input else load_checkpoint(checkpoint)
    return official, official.init_state(str(folder)), VideoTracker(model, folder, fill_hole_area=0)


def _same(expected, actual):
    expected = expected[:, 0].numpy()
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, atol=TOLERANCE, rtol=0)


@pytest.mark.parity
@pytest.mark.slow
def test_objects_forward_correction_reverse(jpeg_clip, tmp_path, monkeypatch, object_bias=0.3):
    """Clicks + box on frame 0, forward, a correction of object 1 and a new object 3 on frame 2, reverse from
    there. Objects 1 and 2 run in one batch where their memories align; object 3 attends to other memories
    and runs in its own. (The official predictor cannot track an object on frames before its first prompt
    on the CPU in fp32: its bf16 memories meet fp32 weights when no object pointer precedes them.) With a +6
    occlusion bias objects are surely present; with +0.3 their presence logits sit within 0.5 of zero,
    where any divergence in the memory path would flip a presence decision (a 1024 jump in the logits).
    Every object stays present here, with real logits, so a +6 bias (surely present) would add no path,
    only time; the absent path is the next test's (bias 0).

    Both run at 512 pixels of input (`small_input_model`: a sixth of the time at 1024, on the same kernels);
    the next test runs at the official 1024."""
    chunked = count_chunked_attention(monkeypatch)
    official, state, ours = _pair(jpeg_clip, tmp_path, object_bias=object_bias, small_input=monkeypatch)
    points, labels = np.array([[300, 200], [350, 250]], np.float32), np.array([1, 0], np.int32)
    _same(
        official.add_new_points_or_box(state, 0, 1, points=points, labels=labels)[2],
        ours.add_prompt(0, 1, points=points, labels=labels)[1],
    )
    box = np.array([500, 300, 650, 500], np.float32)
    _same(official.add_new_points_or_box(state, 0, 2, box=box)[2], ours.add_prompt(0, 2, box=box)[1])
    logits = []
    for (frame, ids, expected), (ours_frame, ours_ids, actual) in zip(
        official.propagate_in_video(state), ours.propagate()
    ):
        assert frame == ours_frame and list(ids) == ours_ids == [1, 2]
        _same(expected, actual)
        logits.append(actual)
    assert (
        len(logits) == 4 and max(np.abs(frame_logits).max() for frame_logits in logits) > 0.1
    )  # real logits, not -1024 placeholders
    click = dict(points=np.array([[320, 260]], np.float32), labels=np.array([1], np.int32), clear_old_points=False)
    _same(official.add_new_points_or_box(state, 2, 1, **click)[2], ours.add_prompt(2, 1, **click)[1])
    third = dict(points=np.array([[120, 300]], np.float32), labels=np.array([1], np.int32))
    _same(official.add_new_points_or_box(state, 2, 3, **third)[2], ours.add_prompt(2, 3, **third)[1])
    pairs = list(
        zip(official.propagate_in_video(state, start_frame_idx=2, reverse=True), ours.propagate(2, reverse=True))
    )
    assert [p[0][0] for p in pairs] == [2, 1, 0]
    for (_, _, expected), (_, _, actual) in pairs:
        _same(expected, actual)
    scores = [ours.object_scores(frame)[obj][0] for frame in range(4) for obj in (1, 2)]
    assert all(0 < score < 0.5 for score in scores), scores  # present, and near the decision
    assert any(folded for folded, _ in chunked), "memory attention did not take its chunked kernel (values folded)"


@pytest.mark.parity
@pytest.mark.slow
def test_absent_objects_and_mask_prompt(jpeg_clip, tmp_path):
    """Plain random weights: every object scored absent (the no-object pointer path); a mask prompt. At the
    official 1024 pixels of input, so the video path's parity is also checked at the shapes users run."""
    official, state, ours = _pair(jpeg_clip, tmp_path, object_bias=0.0)
    mask = np.zeros((576, 768), bool)
    mask[200:320, 250:330] = True
    _same(official.add_new_mask(state, 0, 7, mask)[2], ours.add_prompt(0, 7, mask=mask)[1])
    for (_, _, expected), (_, _, actual) in zip(
        official.propagate_in_video(state, max_frame_num_to_track=2), ours.propagate(max_frames=2)
    ):
        _same(expected, actual)
    assert ours.object_scores(1)[7][0] < 0
