"""Image preprocessing (the official resize + ImageNet normalisation) and mask postprocessing."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def as_rgb_array(image) -> np.ndarray:
    """An HxWx3 uint8 RGB array from a numpy array or PIL image; ValueError otherwise."""
    if hasattr(image, "convert") and hasattr(image, "size"):  # PIL image
        image = np.asarray(image.convert("RGB"))
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be an HxWx3 numpy array or a PIL image, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must have shape HxWx3 (RGB), got {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image is empty: shape {image.shape}")
    if image.dtype != np.uint8:
        if np.issubdtype(image.dtype, np.floating) and image.size and image.max() <= 1.0:
            image = image * 255.0
        image = np.clip(image, 0, 255).astype(np.uint8)
    return image


def to_model_input(image: np.ndarray, resolution: int = 1024, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 HxWx3 -> (1, 3, R, R): scale to [0, 1], antialiased bilinear resize, ImageNet normalisation."""
    if not image.flags.writeable or not image.flags.c_contiguous:
        image = np.array(image, copy=True, order="C")
    tensor = torch.from_numpy(image).to(device).permute(2, 0, 1).float().div_(255.0)
    tensor = F.interpolate(
        tensor.unsqueeze(0), size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=True
    )
    mean = torch.tensor(IMAGENET_MEAN, device=tensor.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, device=tensor.device).view(1, 3, 1, 1)
    return (tensor - mean) / std


def upscale_masks(low_res_logits: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, M, 256, 256) logits -> (B, M, H, W) by bilinear interpolation."""
    return F.interpolate(low_res_logits.float(), (height, width), mode="bilinear", align_corners=False)
