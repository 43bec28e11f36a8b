"""anymask.sam2: our PyTorch implementation of SAM 2 and SAM 2.1 (all official variants)."""

from .checkpoint import infer_config, load_checkpoint, read_state_dict
from .config import VARIANTS, HieraConfig, SAM2Config, get_config
from .model import ImageFeatures, SAM2Model, build_model

__all__ = [
    "VARIANTS",
    "HieraConfig",
    "SAM2Config",
    "get_config",
    "SAM2Model",
    "ImageFeatures",
    "build_model",
    "load_checkpoint",
    "read_state_dict",
    "infer_config",
]
