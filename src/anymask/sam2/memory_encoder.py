"""Memory encoder: fuses a frame's features with its predicted mask into a 64-channel memory."""

from __future__ import annotations

import torch
from torch import nn

from .layers import LayerNorm2d
from .linear import Activation, linear
from .position import SinePositionEncoding


class MaskDownSampler(nn.Module):
    """Four stride-2 3x3 convolutions (x4 channels each, LayerNorm + GELU) then a 1x1 to `embed_dim`."""

    def __init__(self, embed_dim: int = 256, total_stride: int = 16, stride: int = 2) -> None:
        super().__init__()
        self.encoder = nn.Sequential()
        channels_in = 1
        for _ in range(total_stride.bit_length() - 1):
            channels_out = channels_in * stride * stride
            self.encoder.append(nn.Conv2d(channels_in, channels_out, kernel_size=3, stride=stride, padding=1))
            self.encoder.append(LayerNorm2d(channels_out))
            self.encoder.append(nn.GELU())
            channels_in = channels_out
        self.encoder.append(nn.Conv2d(channels_in, embed_dim, kernel_size=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)


class CXBlock(nn.Module):
    """ConvNeXt block: depth-wise 7x7, LayerNorm, pointwise MLP, layer scale, residual."""

    def __init__(self, dim: int = 256, kernel_size: int = 7, padding: int = 3) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=kernel_size, padding=padding, groups=dim)
        self.norm = LayerNorm2d(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)  # then GELU, fused into the linear (see linear.py)
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(1e-6 * torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x
        x = self.norm(self.dwconv(x)).permute(0, 2, 3, 1)
        x = linear(linear(x, self.pwconv1, Activation.GELU), self.pwconv2)
        x = (self.gamma * x).permute(0, 3, 1, 2)
        return residual + x


class Fuser(nn.Module):
    """A stack of CXBlocks."""

    def __init__(self, dim: int = 256, num_layers: int = 2) -> None:
        super().__init__()
        self.layers = nn.ModuleList(CXBlock(dim) for _ in range(num_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


class MemoryEncoder(nn.Module):
    """(pixel features, mask already scaled for memory) -> (memory features, memory positions)."""

    def __init__(self, in_dim: int = 256, out_dim: int = 64) -> None:
        super().__init__()
        self.mask_downsampler = MaskDownSampler(in_dim)
        self.pix_feat_proj = nn.Conv2d(in_dim, in_dim, kernel_size=1)
        self.fuser = Fuser(in_dim, num_layers=2)
        self.position_encoding = SinePositionEncoding(out_dim)
        self.out_proj = nn.Conv2d(in_dim, out_dim, kernel_size=1)

    def forward(self, pix_feat: torch.Tensor, mask_for_memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        masks = self.mask_downsampler(mask_for_memory)
        x = self.pix_feat_proj(pix_feat.to(masks.device)) + masks
        x = self.out_proj(self.fuser(x))
        return x, self.position_encoding(x)
