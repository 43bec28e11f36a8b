"""Test helpers around the official `sam2` package: import guard, torchvision stand-in, random checkpoints."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

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


class _Resize(nn.Module):
    """torchvision.transforms.Resize on tensors: bilinear with antialias (its default)."""

    def __init__(self, size: list[int]) -> None:
        super().__init__()
        self.size = [int(s) for s in size]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.interpolate(x.unsqueeze(0), size=self.size, mode="bilinear", align_corners=False, antialias=True)
        return out.squeeze(0)


class _Normalize(nn.Module):
    def __init__(self, mean: list[float], std: list[float]) -> None:
        super().__init__()
        self.mean = [float(m) for m in mean]
        self.std = [float(s) for s in std]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(-1, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(-1, 1, 1)
        return (x - mean) / std


class _ToTensor:
    def __call__(self, picture):
        import numpy as np

        array = np.asarray(picture)
        return torch.from_numpy(array.copy()).permute(2, 0, 1).float().div(255.0)


def install_torchvision_stand_in() -> None:
    """Register a minimal `torchvision.transforms` so the official image predictor imports here."""
    try:
        import torchvision.transforms  # noqa: F401

        return
    except Exception:
        pass
    for name in [k for k in sys.modules if k == "torchvision" or k.startswith("torchvision.")]:
        del sys.modules[name]
    package = types.ModuleType("torchvision")
    transforms = types.ModuleType("torchvision.transforms")
    transforms.Resize, transforms.Normalize, transforms.ToTensor = _Resize, _Normalize, _ToTensor
    package.transforms = transforms
    sys.modules["torchvision"], sys.modules["torchvision.transforms"] = package, transforms


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
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(noise * torch.randn(tensor.shape, generator=generator))
        model.sam_mask_decoder.pred_obj_score_head.layers[-1].bias.add_(object_bias)
    return model.eval()


def save_official_checkpoint(model: nn.Module, path: Path) -> Path:
    """Save in the official format `{"model": state_dict}`."""
    torch.save({"model": model.state_dict()}, path)
    return path
