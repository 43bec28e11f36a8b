"""Test helpers around the official `sam2` package: import guard, torchvision stand-in, random checkpoints."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from torch import nn

# scenarios.py and torchvision_stand_in.py, shared with the official EdgeTAM run in its own venv
sys.path.insert(0, str(Path(__file__).parent / "edgetam"))
from scenarios import perturb  # noqa: E402

OFFICIAL_CONFIGS = {
    "sam2-tiny": "configs/sam2/sam2_hiera_t.yaml",
    "sam2-small": "configs/sam2/sam2_hiera_s.yaml",
    "sam2-base_plus": "configs/sam2/sam2_hiera_b+.yaml",
    "sam2-large": "configs/sam2/sam2_hiera_l.yaml",
    "sam2.1-tiny": "configs/sam2.1/sam2.1_hiera_t.yaml",
    "sam2.1-small": "configs/sam2.1/sam2.1_hiera_s.yaml",
    "sam2.1-base_plus": "configs/sam2.1/sam2.1_hiera_b+.yaml",
    "sam2.1-large": "configs/sam2.1/sam2.1_hiera_l.yaml",
}


def install_torchvision_stand_in() -> None:
    """Register a stand-in `torchvision` (tests/edgetam/torchvision_stand_in.py) so the official image
    predictor imports here; the real one is used where it imports."""
    try:
        import torchvision.transforms  # noqa: F401

        return
    except Exception:
        pass
    import torchvision_stand_in

    torchvision_stand_in.install()


def official():
    """The official package's builder module, or skip when it is not installed."""
    pytest.importorskip("hydra")
    sam2_pkg = pytest.importorskip("sam2")
    if not hasattr(sam2_pkg, "__path__") or "site-packages" not in str(list(sam2_pkg.__path__)[0]):
        pytest.skip("the official sam2 package is shadowed")
    from sam2 import build_sam

    return build_sam


def build_official(
    variant: str, seed: int = 0, noise: float = 0.02, video: bool = False, object_bias: float = 0.0, **overrides
):
    """The official model with seeded random weights plus noise on every tensor (no zero path hides).

    `object_bias` shifts the occlusion head's output: random weights leave every object "absent" (all
    logits -1024); a positive bias makes objects present so tracking outputs carry real logits.
    """
    build_sam = official()
    torch.manual_seed(seed)
    builder = build_sam.build_sam2_video_predictor if video else build_sam.build_sam2
    model = builder(OFFICIAL_CONFIGS[variant], ckpt_path=None, device="cpu", **overrides)
    return perturb(model, seed, noise, object_bias)


def save_official_checkpoint(model: nn.Module, path: Path) -> Path:
    """Save in the official format `{"model": state_dict}`."""
    torch.save({"model": model.state_dict()}, path)
    return path
