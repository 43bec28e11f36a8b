"""Every official variant's state dict loads strictly into our model, and the variant is inferred from shapes."""

from __future__ import annotations

import pytest
import torch

from anymask.sam2 import VARIANTS, build_model, infer_config
from anymask.sam2.checkpoint import load_state_dict_strict

from reference import OFFICIAL_CONFIGS, build_official


@pytest.mark.parity
@pytest.mark.parametrize(
    "variant", [pytest.param(v, marks=pytest.mark.slow) if "large" in v else v for v in OFFICIAL_CONFIGS]
)
def test_official_state_dict_loads_strictly(variant):
    official = build_official(variant, noise=0.0).state_dict()
    ours = build_model(VARIANTS[variant])
    assert sorted(ours.state_dict()) == sorted(official)
    assert all(ours.state_dict()[k].shape == v.shape for k, v in official.items())
    assert infer_config(official).name == variant
    load_state_dict_strict(ours, official, variant)
    probe = "image_encoder.trunk.blocks.0.attn.qkv.weight"
    assert torch.equal(ours.state_dict()[probe], official[probe])


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_inference_from_our_own_shapes(variant):
    with torch.device("meta"):
        model = build_model(VARIANTS[variant])
    assert infer_config(model.state_dict()).name == variant
