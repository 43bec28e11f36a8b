"""Filling small holes in low-res mask logits, as the official predictor's fill_hole_area does."""

from __future__ import annotations

import cv2
import numpy as np
import torch


def fill_small_holes(logits: torch.Tensor, max_area: int) -> torch.Tensor:
    """Background components of area <= max_area inside (B, 1, H, W) logits become foreground (0.1)."""
    if max_area <= 0:
        return logits
    filled = logits.clone()
    for index in range(logits.shape[0]):
        background = (logits[index, 0] <= 0).cpu().numpy().astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(background, connectivity=8)
        small = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] <= max_area) + 1
        if small.size:
            holes = torch.from_numpy(np.isin(labels, small)).to(logits.device)
            filled[index, 0] = torch.where(holes, 0.1, logits[index, 0])
    return filled
