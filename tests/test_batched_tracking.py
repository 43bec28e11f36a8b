"""Objects tracked together in one pass equal objects tracked one by one (fp32, within 1e-4).

EdgeTAM's random weights keep these fast; the same batched path runs SAM 2 (its parity with the official
predictor, two objects in one batch, is in test_tracker_parity.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from anymask import load_model
from anymask.tracking import VideoTracker, batched
from anymask.tracking.static_step import BankSlots, PaddedMemory, StepMode, bank_slots

from conftest import count_chunked_attention, small_input_model, write_clip

TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def clip(media_dir, tmp_path_factory):
    return write_clip(media_dir, tmp_path_factory.mktemp("batch-clip"), count=4, step=2)


@pytest.fixture(scope="module")
def checkpoint(edgetam_checkpoint):
    return edgetam_checkpoint


@pytest.fixture
def batch_sizes(monkeypatch):
    """The size of every batch the tracker runs."""
    sizes: list[int] = []
    original = batched.track_batch

    def counting(model, features, gathered, *args):
        sizes.append(len(gathered))
        return original(model, features, gathered, *args)

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
def test_together_and_padded_equal_one_by_one(clip, checkpoint, batch_sizes, monkeypatch):
    """Batched by layout, and padded to fixed slots (StepMode.GRAPHED, which on the CPU runs the padded
    step without a graph), objects give the one-by-one results. At 512 pixels of input (`small_input_model`:
    30 against 119 s at 1024, one thread)."""
    results, sizes = {}, {}
    chunked = count_chunked_attention(monkeypatch)
    model = small_input_model(checkpoint, monkeypatch)
    for way, mode, object_batch in (("together", "eager", 8), ("alone", "eager", 1), ("padded", "graphed", 8)):
        batch_sizes[:] = []
        tracker = VideoTracker(model, clip, fill_hole_area=0, object_batch=object_batch, step_mode=mode)
        results[way] = _scenario(tracker)
        tracker.close()
        sizes[way] = list(batch_sizes)
    assert max(sizes["together"]) == 3 and max(sizes["alone"]) == 1  # all three where their memories align
    assert min(sizes["together"]) < 3  # and apart where they do not (object 2 joins on frame 2, 3 is corrected alone)
    # padded, every frame's objects share one batch, whatever they attend to
    assert sum(sizes["padded"]) == len(sizes["alone"]) and len(sizes["padded"]) < len(sizes["together"])
    for way in ("together", "padded"):
        for (frame, ids, logits), (frame_1, ids_1, logits_1) in zip(results[way], results["alone"], strict=True):
            assert (frame, ids) == (frame_1, ids_1)
            np.testing.assert_allclose(logits, logits_1, atol=TOLERANCE, rtol=0, err_msg=f"{way}, frame {frame}")
    assert [ids for _, ids, _ in results["together"]][-1] == [1, 3]
    assert any(bias for _, bias in chunked) and any(not bias for _, bias in chunked)  # padded, and not


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
    the batch, and come back, exactly as when tracked alone (at 512 pixels of input: `small_input_model`)."""
    from anymask.bench import PRESENCE_BIAS_KEY

    model = small_input_model(checkpoint, monkeypatch)
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


@pytest.mark.slow
def test_padded_step_equals_eager_for_sam2(present_checkpoint, clip, batch_sizes, monkeypatch):
    """SAM 2's memory frames (rotated tokens on a grid, where EdgeTAM's are perceiver latents) padded: a click
    on frame 0 and a box on frame 2. At 512 pixels of input (`small_input_model`)."""

    def scenario(tracker):
        tracker.add_prompt(0, 1, points=[[300, 200]], labels=[1])
        tracker.add_prompt(2, 2, box=[500, 300, 650, 500])
        return list(tracker.propagate(max_frames=1))

    chunked = count_chunked_attention(monkeypatch)
    model = small_input_model(present_checkpoint, monkeypatch)
    results = {}
    for mode, object_batch in ((StepMode.EAGER, 1), (StepMode.GRAPHED, 8)):
        batch_sizes[:] = []
        tracker = VideoTracker(model, clip, fill_hole_area=0, object_batch=object_batch, step_mode=mode)
        results[mode] = scenario(tracker)
        tracker.close()
    # object 2 (boxed on frame 2) is tracked on frames 0-1 with no pointer yet, beside object 1: another layout
    assert batch_sizes == [1, 2]
    eager, padded = results[StepMode.EAGER], results[StepMode.GRAPHED]
    for (frame, _, logits), (_, _, logits_1) in zip(eager, padded, strict=True):
        np.testing.assert_allclose(logits_1, logits, atol=TOLERANCE, rtol=0, err_msg=f"frame {frame}")
    assert any(bias for _, bias in chunked), "the padded memory did not take the chunked attention with its bias"


def test_bank_slots_hold_a_full_bank_and_grow_by_whole_banks():
    from anymask.sam2 import get_config
    from anymask.tracking.step import GatheredMemory

    class Model:
        config = get_config("sam2.1-tiny")

    def gathered(frames, pointers):
        return GatheredMemory(torch.zeros(1, frames * 4096 + pointers, 64), torch.zeros(1, 1, 64), pointers, frames)

    assert bank_slots(Model(), [gathered(1, 4)]) == BankSlots(7, 4096, 64)
    assert bank_slots(Model(), [gathered(7, 64), gathered(2, 8)]) == BankSlots(7, 4096, 64)
    assert bank_slots(Model(), [gathered(9, 68)]) == BankSlots(14, 4096, 128)  # many prompted frames


def test_padded_memory_hides_padding():
    slots = BankSlots(3, 4, 8)
    from anymask.tracking.step import GatheredMemory

    tokens = torch.arange(1, 1 + 2 * 4 + 4, dtype=torch.float32).view(1, -1, 1).expand(1, -1, 64)
    memory = PaddedMemory.empty(1, slots, 64, torch.float32, "cpu")
    memory.fill([GatheredMemory(tokens, tokens, 4, 2)], slots)
    visible = memory.key_bias[0, 0, 0] == 0
    assert visible.tolist() == [True] * 8 + [False] * 4 + [True] * 4 + [False] * 4
    assert memory.tokens[0, visible, 0].tolist() == list(range(1, 13))
    assert torch.isinf(memory.key_bias[0, 0, 0, ~visible]).all() and not memory.tokens[0, ~visible].any()


@pytest.mark.slow
def test_compiled_step_equals_eager(clip, checkpoint, tmp_path, monkeypatch):
    """StepMode.COMPILED compiles the padded step whole (fullgraph: no graph break, as a CUDA graph needs)
    and gives the eager results; on the CPU it runs without a graph.

    Inductor's cache goes to a fresh folder: its key leaves out the kernel level that ATEN_CPU_CAPABILITY
    sets, so a run held to AVX2 on an AVX-512 machine reused AVX-512 kernels compiled earlier and got
    garbage (a masked softmax gave 1e37 and NaN).
    """
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "inductor"))
    model = load_model(checkpoint, precision="fp32")
    results = {}
    for mode in (StepMode.EAGER, StepMode.COMPILED):
        tracker = VideoTracker(model, clip, fill_hole_area=0, step_mode=mode)
        tracker.add_prompt(0, 1, points=[[300, 200]], labels=[1])
        results[mode] = [logits for _, _, logits in tracker.propagate(max_frames=1)]  # one shape: one compile
        tracker.close()
    assert len(results[StepMode.COMPILED]) == 2  # frame 0 (the prompt's) and frame 1 (the compiled step's)
    for eager, compiled in zip(results[StepMode.EAGER], results[StepMode.COMPILED], strict=True):
        np.testing.assert_allclose(compiled, eager, atol=TOLERANCE, rtol=0)


def test_track_step_reaches_the_tracker(clip, checkpoint, tmp_path):
    """`anymask track --step graphed` -> Session(step_mode=...) -> the session's tracker."""
    from anymask.cli import build_parser
    from anymask.cli.common import open_session

    args = build_parser().parse_args(
        ["track", str(clip), "--prompts", "p.json", "--out", str(tmp_path / "out"), "--format", "coco"]
        + ["--model", str(checkpoint), "--precision", "fp32", "--step", "graphed"]
    )
    session = open_session(clip, args)
    try:
        assert session.host.tracker.step_mode == StepMode.GRAPHED
    finally:
        session.close()
