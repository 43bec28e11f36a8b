"""Loading official checkpoint files: safe unpickling, variant inference from shapes, strict key check."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from ..errors import CheckpointError
from .config import TRUNKS, VARIANTS, SAM2Config
from .model import SAM2Model, build_model


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The `model` state dict of an official checkpoint (`{"model": state_dict}`), without running pickled code."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types here (UnpicklingError, RuntimeError, KeyError, ...)
        raise CheckpointError(f"{path}: cannot read checkpoint ({_explain_load_failure(exc)})") from None
    state = payload.get("model") if isinstance(payload, dict) else None
    if (
        state is None
        and isinstance(payload, dict)
        and payload
        and all(isinstance(v, torch.Tensor) for v in payload.values())
    ):
        state = payload
    if not isinstance(state, dict) or not state:
        raise CheckpointError(f"{path}: not a SAM 2 checkpoint (expected a dict with a 'model' state dict)")
    return check_tensors(state, str(path))


def check_tensors(state: dict, source: str) -> dict[str, torch.Tensor]:
    """Every key a name and every value a tensor of finite numbers, or a one-line CheckpointError."""
    for key, value in state.items():
        if not isinstance(key, str):
            raise CheckpointError(f"{source}: not a SAM 2 checkpoint (a state dict key is {type(key).__name__})")
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{source}: {_shown(key)} holds a {type(value).__name__}, not a tensor")
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise CheckpointError(f"{source}: {_shown(key)} holds NaN or infinite weights (a damaged download?)")
    return state


def _shown(key: str) -> str:
    """A key from the file as it can be shown in one line (quoted when it holds odd characters)."""
    return key if key.isprintable() else repr(key)


def _explain_load_failure(exc: Exception) -> str:
    text = str(exc)
    if "weights_only" in text or "Unsupported global" in text:
        return "it contains pickled code, which anymask refuses to run"
    if isinstance(exc, (zipfile.BadZipFile, EOFError)) or "central directory" in text or "zip" in text.lower():
        return "the file is truncated or not a PyTorch checkpoint"
    if isinstance(exc, (pickle.UnpicklingError, KeyError, UnicodeDecodeError)):
        return "not a PyTorch checkpoint"
    first_line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first_line[:200]


def infer_config(state: dict[str, torch.Tensor], source: str = "checkpoint") -> SAM2Config:
    """Which official variant a state dict belongs to, from its tensor shapes."""
    if "image_encoder.trunk.body.stem.conv1.c.weight" in state:
        if "spatial_perceiver.latents" not in state:
            raise CheckpointError(f"{source}: a RepViT trunk without EdgeTAM's spatial perceiver is not supported")
        return VARIANTS["edgetam"]
    patch = state.get("image_encoder.trunk.patch_embed.proj.weight")
    if patch is None:
        raise CheckpointError(f"{source}: not a SAM 2 or EdgeTAM checkpoint (no Hiera or RepViT trunk)")
    embed_dim = patch.shape[0]
    depth = len({k.split(".")[3] for k in state if k.startswith("image_encoder.trunk.blocks.")})
    size = next((s for s, t in TRUNKS.items() if t.embed_dim == embed_dim and t.depth == depth), None)
    if size is None:
        raise CheckpointError(f"{source}: unknown SAM 2 variant (trunk width {embed_dim}, {depth} blocks)")
    version = "2.1" if "no_obj_embed_spatial" in state else "2"
    return VARIANTS[f"sam{version}-{size}"]


def load_state_dict_strict(model: SAM2Model, state: dict[str, torch.Tensor], source: str) -> None:
    """Copy weights in; any missing, unexpected or mis-shaped key is a one-line CheckpointError."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and tuple(state[k].shape) != tuple(expected[k].shape)]
    if missing or unexpected or wrong:
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong)):
            if keys:
                more = f" (+{len(keys) - 3} more)" if len(keys) > 3 else ""
                parts.append(f"{label} keys {', '.join(map(_shown, keys[:3]))}{more}")
        raise CheckpointError(f"{source}: does not match {model.config.name}: {'; '.join(parts)}")
    model.load_state_dict(state, strict=True)


def load_checkpoint(path: str | Path, config: SAM2Config | None = None) -> SAM2Model:
    """Build the right variant for an official checkpoint file and load it strictly (CPU, fp32, eval)."""
    state = read_state_dict(path)
    config = config or infer_config(state, str(path))
    model = build_model(config)
    load_state_dict_strict(model, state, str(path))
    return model
