"""Hiera's stage maps come out channels-last and contiguous, so LayerNorms, window partitions and the neck's
projections read whole rows rather than NCHW-strided columns."""

from __future__ import annotations

import torch

from anymask.sam2.config import get_config
from anymask.sam2.hiera import Hiera


def test_every_stage_map_is_contiguous_channels_last():
    torch.manual_seed(0)
    trunk = Hiera(get_config("sam2.1-tiny").trunk).eval()
    with torch.inference_mode():
        maps = trunk(torch.randn(1, 3, 256, 256))
    assert [tuple(m.shape) for m in maps] == [(1, 64, 64, 96), (1, 32, 32, 192), (1, 16, 16, 384), (1, 8, 8, 768)]
    assert all(m.is_contiguous() for m in maps)
