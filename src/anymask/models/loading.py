"""`load_model`: a model name or a checkpoint path to a ready SAM2Model on a device and precision."""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import AnymaskError
from ..sam2.checkpoint import load_checkpoint
from ..sam2.model import SAM2Model
from .hub import ensure_checkpoint, find_cached, get_spec
from .precision import resolve_precision


def looks_like_path(name_or_path: str | Path) -> bool:
    text = str(name_or_path)
    return isinstance(name_or_path, Path) or text.endswith((".pt", ".pth", ".ckpt")) or "/" in text or "\\" in text


def is_model_available(name_or_path: str | Path) -> bool:
    """True when the model loads without a download: an existing file, or a name already in a cache."""
    if looks_like_path(name_or_path) or Path(str(name_or_path)).is_file():
        return Path(name_or_path).expanduser().is_file()
    try:
        return find_cached(get_spec(str(name_or_path))) is not None
    except AnymaskError:
        return False


def resolve_device(device: str | torch.device) -> torch.device:
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise AnymaskError("device 'cuda' was asked for but no CUDA GPU is available; use device='cpu'")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise AnymaskError("device 'mps' was asked for but it is not available; use device='cpu'")
    return device


def load_model(
    name_or_path: str | Path,
    device: str | torch.device = "cpu",
    precision: str = "auto",
    download: bool = True,
    progress: bool = True,
) -> SAM2Model:
    """Load `sam2.1-tiny`-style names (downloaded into the cache on first use) or an official `.pt` file.

    precision: `auto` (bf16 where the device computes it natively, else fp32), `fp32`, `bf16` or `fast`
    (see anymask.models.precision). The choice and its reason are kept as `model.precision_choice`.
    """
    target = resolve_device(device)
    choice = resolve_precision(precision, target)
    if looks_like_path(name_or_path) or Path(str(name_or_path)).is_file():
        path = Path(name_or_path).expanduser()
    else:
        path = ensure_checkpoint(str(name_or_path), download=download, progress=progress)
    model = load_checkpoint(path)
    model.checkpoint_path = path
    model.precision_choice = choice
    return model.to(target).set_precision(choice.precision)
