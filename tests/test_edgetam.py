"""EdgeTAM works wherever a SAM 2 model does: load_model, the tracker (flat memory), precisions, Session, CLI.

Parity with the official code is in test_edgetam_parity.py (it needs build/edgetam-venv); these need nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from anymask import ImagePredictor, load_model
from anymask.errors import CheckpointError
from anymask.models.precision import bf16_support
from anymask.sam2 import load_checkpoint
from anymask.tracking import VideoTracker

from conftest import write_clip


@pytest.fixture(scope="module")
def clip(media_dir, tmp_path_factory):
    return write_clip(media_dir, tmp_path_factory.mktemp("edgetam-clip"), count=5, step=2)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a > 0, b > 0).sum()
    return 1.0 if union == 0 else float(np.logical_and(a > 0, b > 0).sum() / union)


def test_loads_by_shape_and_rejects_a_half_edgetam(edgetam_checkpoint, tmp_path):
    model = load_model(edgetam_checkpoint, precision="fp32")
    assert model.config.name == "edgetam" and model.spatial_perceiver is not None
    assert len(model.memory_attention.layers) == 2
    state = torch.load(edgetam_checkpoint, weights_only=True)["model"]
    del state["spatial_perceiver.latents"]
    torch.save({"model": state}, tmp_path / "half.pt")
    with pytest.raises(CheckpointError, match="half.pt: a RepViT trunk without EdgeTAM's spatial perceiver"):
        load_checkpoint(tmp_path / "half.pt")


def test_fused_repvit_equals_its_batch_norm_form(edgetam_checkpoint):
    """Eval mode folds each conv+BN pair and the 3x3 + 1x1 + identity mixers into single convolutions."""
    from anymask.sam2.repvit import ConvNorm, RepVggDw

    trunk = load_checkpoint(edgetam_checkpoint).image_encoder.trunk
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, tensor in trunk.state_dict().items():
            if tensor.is_floating_point():
                tensor.add_(0.05 * torch.randn(tensor.shape, generator=generator))
                if name.endswith("running_var"):
                    tensor.abs_()
        images = torch.randn(1, 3, 128, 128, generator=generator)
        fused = trunk(images)
        folding = [m for m in trunk.modules() if isinstance(m, (ConvNorm, RepVggDw))]
        for module in folding:  # the unfused path; BatchNorm itself stays in eval (running statistics)
            module.training = True
        plain = trunk(images)
        for module in folding:
            module.training = False
    for a, b in zip(fused, plain):
        assert a.shape == b.shape
        assert float((a - b).abs().max()) < 1e-4 * max(1.0, float(b.abs().max()))


@pytest.mark.slow
def test_tracking_keeps_compressed_memories_and_bounded_ram(edgetam_checkpoint, clip):
    tracker = VideoTracker(load_model(edgetam_checkpoint, precision="fp32"), clip, fill_hole_area=0)
    tracker.add_prompt(0, 1, points=[[300, 200]], labels=[1])
    tracker.add_prompt(0, 2, box=[500, 300, 650, 500])
    frames = list(tracker.propagate())
    assert [f for f, _, _ in frames] == [0, 1, 2, 3, 4]
    assert all(logits.shape == (2, 576, 768) and np.abs(logits).max() > 0.1 for _, _, logits in frames)
    memory = tracker.objects[1].get_recent(3).memory
    assert memory.shape == (1, 512, 64) and memory.dtype == torch.bfloat16  # 64 KB a frame, not 512 KB
    tracker.objects[1].ram_window = 2  # older memories spill to disk, as for SAM 2
    tracker.add_prompt(4, 1, points=[[310, 210]], labels=[1], clear_old_points=False)
    reverse = list(tracker.propagate(4, reverse=True))
    assert [f for f, _, _ in reverse] == [4, 3, 2, 1, 0] and tracker.objects[1].ram_frames <= 2
    tracker.close()


@pytest.mark.parametrize("precision", ["fast", "bf16"])
def test_precisions_agree_with_fp32(edgetam_checkpoint, photo, precision):
    if precision == "bf16" and not bf16_support("cpu").native:
        pytest.skip("this CPU has no native BF16: bf16 is emulated")
    exact, other = (ImagePredictor(load_model(edgetam_checkpoint, precision=p)) for p in ("fp32", precision))
    for predictor in (exact, other):
        predictor.set_image(photo)
    for prompt in (dict(point_coords=[[200, 240]], point_labels=[1]), dict(box=[50, 60, 400, 420])):
        for a, b in zip(exact.predict(return_logits=True, **prompt)[0], other.predict(return_logits=True, **prompt)[0]):
            assert _iou(a, b) >= 0.9, precision


def test_loaded_under_inference_mode(edgetam_checkpoint, photo):
    """Caches keyed on weights work with inference tensors (they have no version counter)."""
    with torch.inference_mode():
        predictor = ImagePredictor(load_model(edgetam_checkpoint, precision="fp32"))
        predictor.set_image(photo)
        masks, scores, _ = predictor.predict(point_coords=[[200, 240]], point_labels=[1])
    assert masks.shape[1:] == photo.shape[:2] and scores.shape == (3,)


@pytest.mark.slow
def test_cli_track_and_segment_with_edgetam(edgetam_checkpoint, clip, media_dir, tmp_path):
    prompts = tmp_path / "prompts.json"
    prompts.write_text(json.dumps({"objects": [{"id": 1, "label": "person", "frame": 0, "box": [280, 150, 360, 330]}]}))
    command = [sys.executable, "-m", "anymask.cli"]
    done = subprocess.run(
        [*command, "track", clip, "--model", edgetam_checkpoint, "--prompts", prompts, "--out", tmp_path / "out",
         "--format", "mot", "--precision", "fp32"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "edgetam" in done.stdout
    assert len((tmp_path / "out" / "mot").rglob("gt.txt").__next__().read_text().splitlines()) == 5
    image_prompts = tmp_path / "image_prompts.json"
    image_prompts.write_text(
        json.dumps({"objects": [{"image": "fruits.jpg", "label": "fruit", "box": [50, 60, 400, 420]}]})
    )
    done = subprocess.run(
        [*command, "segment", media_dir / "fruits.jpg", "--model", edgetam_checkpoint, "--prompts", image_prompts,
         "--out", tmp_path / "seg", "--format", "coco"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(next((tmp_path / "seg").rglob("instances_default.json")).read_text())
    assert len(document["annotations"]) == 1
