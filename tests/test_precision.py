"""Precision: what auto picks on which hardware, the bf16 warning, and bf16 against fp32 (logits, masks)."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from anymask import ImagePredictor, load_model
from anymask.errors import AnymaskError
from anymask.models import precision as precision_module
from anymask.models.precision import PrecisionWarning, bf16_support, resolve_precision

native_bf16 = pytest.mark.skipif(not bf16_support("cpu").native, reason="this CPU has no native BF16: bf16 is emulated")


def simulate_cpu(monkeypatch, capability: str, avx512_bf16: bool = False, amx: bool = False) -> None:
    monkeypatch.setattr(precision_module, "cpu_capability", lambda: capability)
    monkeypatch.setattr(precision_module, "cpu_bf16_flags", lambda: (avx512_bf16, amx))


@pytest.mark.parametrize(
    "capability, avx512_bf16, amx, expected",
    [
        ("AVX2", False, False, "fp32"),
        ("DEFAULT", False, False, "fp32"),
        ("AVX512", False, False, "fp32"),
        ("AVX512", True, False, "bf16"),
        ("AVX512", False, True, "bf16"),
    ],
)
def test_auto_picks_bf16_only_where_it_is_native(monkeypatch, capability, avx512_bf16, amx, expected):
    simulate_cpu(monkeypatch, capability, avx512_bf16, amx)
    choice = resolve_precision("auto", "cpu")
    assert choice.precision == expected
    assert capability in choice.reason and choice.describe().startswith(f"{expected} (auto)")


def test_unknown_cpu_capability_is_measured_once_and_cached(monkeypatch, tmp_path):
    simulate_cpu(monkeypatch, "SVE256")
    monkeypatch.setenv("ANYMASK_HOME", str(tmp_path))
    calls = []
    monkeypatch.setattr(precision_module, "bf16_speed_ratio", lambda: calls.append(1) or 0.6)
    assert resolve_precision("auto", "cpu").precision == "bf16"
    assert resolve_precision("auto", "cpu").precision == "bf16"
    assert len(calls) == 1 and "measured 0.60x" in resolve_precision("auto", "cpu").reason
    monkeypatch.setattr(precision_module, "bf16_speed_ratio", lambda: 7.0)
    monkeypatch.setenv("ANYMASK_HOME", str(tmp_path / "other"))
    assert resolve_precision("auto", "cpu").precision == "fp32"


def test_explicit_bf16_without_native_support_warns_once(monkeypatch, own_checkpoint):
    simulate_cpu(monkeypatch, "AVX2")
    precision_module.forget_warnings()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = load_model(own_checkpoint, precision="bf16")
        load_model(own_checkpoint, precision="bf16")
    assert model.precision == "bf16"  # still honoured
    ours = [w for w in caught if issubclass(w.category, PrecisionWarning)]
    assert len(ours) == 1 and "much slower" in str(ours[0].message) and "\n" not in str(ours[0].message)
    simulate_cpu(monkeypatch, "AVX512", avx512_bf16=True)
    precision_module.forget_warnings()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resolve_precision("bf16", "cpu")
    assert not [w for w in caught if issubclass(w.category, PrecisionWarning)]


def test_fast_where_bf16_is_native_warns_once_that_auto_is_faster(monkeypatch):
    simulate_cpu(monkeypatch, "AVX512", avx512_bf16=True)
    precision_module.forget_warnings()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        choice = resolve_precision("fast", "cpu")
        resolve_precision("fast", "cpu")
    assert choice.precision == "fast"  # still honoured
    ours = [str(w.message) for w in caught if issubclass(w.category, PrecisionWarning)]
    assert len(ours) == 1 and "slower here than auto" in ours[0] and "AVX512_BF16" in ours[0] and "\n" not in ours[0]
    simulate_cpu(monkeypatch, "AVX2")  # what the fast mode is for: no warning
    precision_module.forget_warnings()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resolve_precision("fast", "cpu")
    assert not [w for w in caught if issubclass(w.category, PrecisionWarning)]


def test_sam2_in_fp32_on_a_cpu_without_bf16_points_to_edgetam(monkeypatch):
    from anymask.models.precision import cpu_speed_tip, describe_device

    simulate_cpu(monkeypatch, "AVX2")
    tip = cpu_speed_tip("cpu", "fp32", edgetam=False)
    assert "--model edgetam" in tip and "\n" not in tip
    assert cpu_speed_tip("cpu", "fp32", edgetam=True) is None  # EdgeTAM is the faster choice already
    assert cpu_speed_tip("cpu", "fast", edgetam=False) is None
    assert describe_device("cpu").splitlines()[-1] == f"tip: {tip}"
    simulate_cpu(monkeypatch, "AVX512", avx512_bf16=True)
    assert cpu_speed_tip("cpu", "fp32", edgetam=False) is None  # fp32 asked for where bf16 is native
    assert "tip" not in describe_device("cpu")


def test_auto_is_the_default_and_bad_names_are_one_line(monkeypatch, own_checkpoint):
    simulate_cpu(monkeypatch, "AVX2")
    model = load_model(own_checkpoint)
    assert model.precision == "fp32" and model.precision_choice.requested == "auto"
    assert model.image_encoder.trunk.patch_embed.proj.weight.dtype == torch.float32
    with pytest.raises(AnymaskError, match="precision must be one of auto, fp32, bf16, fast"):
        resolve_precision("fp16", "cpu")


@pytest.fixture(scope="module")
def pair(own_checkpoint, photo):
    fp32 = ImagePredictor(load_model(own_checkpoint, precision="fp32"))
    bf16 = ImagePredictor(load_model(own_checkpoint, precision="bf16"))
    fp32.set_image(photo)
    bf16.set_image(photo)
    return fp32, bf16


@native_bf16
def test_bf16_outputs_are_float32_numpy(pair, photo):
    _, bf16 = pair
    masks, scores, low = bf16.predict(point_coords=[[100, 100]], point_labels=[1], return_logits=True)
    assert masks.dtype == np.float32 and scores.dtype == np.float32 and low.dtype == np.float32
    assert bf16.features.embedding.dtype == torch.float32
    assert bf16.model.image_encoder.trunk.blocks[0].attn.qkv.weight.dtype == torch.bfloat16


@pytest.mark.parametrize(
    "prompt",
    [
        dict(point_coords=[[200, 240]], point_labels=[1]),
        dict(box=[50, 60, 400, 420], multimask_output=False),
        dict(point_coords=[[120, 100], [300, 300]], point_labels=[1, 0], multimask_output=False),
    ],
)
@native_bf16
def test_bf16_close_to_fp32(pair, prompt):
    fp32, bf16 = pair
    exact = fp32.predict(return_logits=True, **prompt)
    fast = bf16.predict(return_logits=True, **prompt)
    relative = np.abs(exact[0] - fast[0]).mean() / np.abs(exact[0]).mean()
    assert relative < 0.05
    np.testing.assert_allclose(fast[1], exact[1], atol=0.02)
    ious = [
        np.logical_and(a > 0, b > 0).sum() / max(1, np.logical_or(a > 0, b > 0).sum())
        for a, b in zip(exact[0], fast[0])
    ]
    assert np.mean(ious) > 0.8


# the fast mode's documented bounds against fp32 (docs/performance.md), on random weights
FAST_MIN_IOU = 0.95
FAST_MAX_RELATIVE_LOGIT_ERROR = 0.06


def test_fast_mode_is_int8_linears_and_fewer_memories_with_the_same_weights(own_checkpoint):
    from anymask.sam2.int8 import Int8Linear

    model = load_model(own_checkpoint, precision="fast")
    plain = load_model(own_checkpoint, precision="fp32")
    assert model.precision == "fast" and model.recent_memories == 3 and plain.recent_memories == 6
    assert isinstance(model.image_encoder.trunk.blocks[0].attn.qkv, Int8Linear)
    assert isinstance(model.memory_attention.layers[0].linear1, Int8Linear)
    assert type(model.sam_mask_decoder.iou_prediction_head.layers[0]) is torch.nn.Linear  # clicks stay fp32
    assert model.state_dict().keys() == plain.state_dict().keys()
    model.set_precision("fp32")
    assert not any(isinstance(m, Int8Linear) for m in model.modules()) and model.recent_memories == 6
    with pytest.raises(AnymaskError, match="CPU only"):
        resolve_precision("fast", "cuda")


def test_int8_activation_range_is_full_only_where_the_gemm_cannot_saturate():
    """8-bit activations where this CPU's int8 GEMM adds in 32 bits (VNNI), 7-bit where it would saturate."""
    from anymask.sam2.int8 import Int8Linear, full_range_is_exact

    layer = torch.nn.Linear(64, 8)
    with torch.no_grad():
        layer.weight.fill_(1.0)
        layer.bias.zero_()
    layer.__class__ = Int8Linear
    with torch.inference_mode():  # the worst case: every activation 255 and every weight 127 when quantised
        assert torch.allclose(layer(torch.ones(4, 64)), torch.full((4, 8), 64.0), rtol=0.01)
    held_to_avx2 = subprocess.run(
        [sys.executable, "-c", "from anymask.sam2.int8 import full_range_is_exact as f; print(f())"],
        env={**os.environ, "FBGEMM_ENABLE_INSTRUCTIONS": "AVX2"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if "avx2" in cpu_flags():
        assert held_to_avx2.stdout.strip() == "False", held_to_avx2.stderr  # AVX2 kernels sum pairs in 16 bits
    if "avx512_vnni" in cpu_flags() and os.environ.get("FBGEMM_ENABLE_INSTRUCTIONS", "").upper() != "AVX2":
        assert full_range_is_exact()


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return {flag for line in cpuinfo if line.startswith("flags") for flag in line.split(":")[1].split()}
    except OSError:
        return set()


def _agreement(exact: np.ndarray, approx: np.ndarray) -> tuple[float, float]:
    union = np.logical_or(exact > 0, approx > 0).sum()
    iou = 1.0 if union == 0 else np.logical_and(exact > 0, approx > 0).sum() / union
    return iou, float(np.abs(exact - approx).mean() / np.abs(exact).mean())


@pytest.mark.slow
def test_fast_mode_masks_on_a_photo_stay_within_bounds(own_checkpoint, photo):
    exact, fast = (ImagePredictor(load_model(own_checkpoint, precision=p)) for p in ("fp32", "fast"))
    exact.set_image(photo)
    fast.set_image(photo)
    for prompt in (
        dict(point_coords=[[200, 240]], point_labels=[1]),
        dict(box=[50, 60, 400, 420], multimask_output=False),
    ):
        for a, b in zip(exact.predict(return_logits=True, **prompt)[0], fast.predict(return_logits=True, **prompt)[0]):
            iou, error = _agreement(a, b)
            assert iou >= FAST_MIN_IOU and error <= FAST_MAX_RELATIVE_LOGIT_ERROR


@pytest.mark.slow
def test_fast_mode_tracking_stays_within_bounds(media_dir, present_checkpoint, tmp_path):
    """Six frames: on frame 5 the fast mode attends to fewer memories than fp32 (3 recent frames, not 4)."""
    from anymask.tracking import VideoTracker

    from conftest import write_clip

    clip = write_clip(media_dir, tmp_path / "clip", count=6, step=2)
    outputs = {}
    for precision in ("fp32", "fast"):
        tracker = VideoTracker(load_model(present_checkpoint, precision=precision), clip, fill_hole_area=0)
        tracker.add_prompt(0, 1, points=[[300, 200]], labels=[1])
        outputs[precision] = [logits[0] for _, _, logits in tracker.propagate()]
        tracker.close()
    assert len(outputs["fast"]) == 6
    for a, b in zip(outputs["fp32"], outputs["fast"]):
        iou, error = _agreement(a, b)
        assert iou >= FAST_MIN_IOU and error <= FAST_MAX_RELATIVE_LOGIT_ERROR, (iou, error)
