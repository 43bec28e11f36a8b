"""Hiera image trunk: patch embedding, windowed/global multi-scale attention, stage-wise query pooling."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .caches import cached, weights_key
from .config import HieraConfig
from .fast_ops import attention
from .layers import MLP
from .linear import linear


def window_partition(x: torch.Tensor, window: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """(B, H, W, C) -> (B * windows, window, window, C), zero-padding H and W up to a multiple of `window`."""
    batch, height, width, channels = x.shape
    pad_h = (window - height % window) % window
    pad_w = (window - width % window) % window
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    padded_h, padded_w = height + pad_h, width + pad_w
    x = x.view(batch, padded_h // window, window, padded_w // window, window, channels)
    windows = x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window, window, channels)
    return windows, (padded_h, padded_w)


def window_unpartition(
    windows: torch.Tensor, window: int, padded_hw: tuple[int, int], hw: tuple[int, int]
) -> torch.Tensor:
    """Inverse of `window_partition`, dropping the padding."""
    padded_h, padded_w = padded_hw
    height, width = hw
    batch = windows.shape[0] // ((padded_h // window) * (padded_w // window))
    x = windows.reshape(batch, padded_h // window, padded_w // window, window, window, -1)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(batch, padded_h, padded_w, -1)
    if padded_h > height or padded_w > width:
        x = x[:, :height, :width, :]
    return x


def max_pool_hw(x: torch.Tensor, stride: int) -> torch.Tensor:
    """2x2 (stride) max pooling of a (B, H, W, C) tensor."""
    x = F.max_pool2d(x.permute(0, 3, 1, 2), kernel_size=stride, stride=stride)
    return x.permute(0, 2, 3, 1)


class PatchEmbed(nn.Module):
    """7x7 stride-4 convolution from RGB to tokens, output channels-last."""

    def __init__(self, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=7, stride=4, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # contiguous: a permuted view kept its NCHW strides through the adds of the first stage (elementwise
        # outputs follow the first operand's layout), so every LayerNorm, window partition and the neck's
        # stride-4 projection read it strided (fp32 set_image 0.94x the time on 2 Zen 3 cores, same values)
        return self.proj(x).permute(0, 2, 3, 1).contiguous()


class MultiScaleAttention(nn.Module):
    """Multi-head self-attention whose queries may be max-pooled (at the first block of a stage)."""

    def __init__(self, dim: int, dim_out: int, num_heads: int, q_stride: int = 0) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.q_stride = q_stride
        self.qkv = nn.Linear(dim, dim_out * 3)
        self.proj = nn.Linear(dim_out, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, height, width, _ = x.shape
        qkv = linear(x, self.qkv).reshape(batch, height * width, 3, self.num_heads, -1)
        q, k, v = torch.unbind(qkv, 2)
        if self.q_stride:
            q = max_pool_hw(q.reshape(batch, height, width, -1), self.q_stride)
            height, width = q.shape[1:3]
            q = q.reshape(batch, height * width, self.num_heads, -1)
        out = attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        out = out.transpose(1, 2).reshape(batch, height, width, -1)
        return linear(out, self.proj)


class HieraBlock(nn.Module):
    """Pre-norm transformer block with optional window attention and a channel/resolution change."""

    def __init__(self, dim: int, dim_out: int, num_heads: int, window: int, q_stride: int = 0) -> None:
        super().__init__()
        self.dim, self.dim_out = dim, dim_out
        self.window = window
        self.q_stride = q_stride
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiScaleAttention(dim, dim_out, num_heads, q_stride)
        self.norm2 = nn.LayerNorm(dim_out, eps=1e-6)
        self.mlp = MLP(dim_out, dim_out * 4, dim_out, num_layers=2, activation=nn.GELU)
        if dim != dim_out:
            self.proj = nn.Linear(dim, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.norm1(x)
        if self.dim != self.dim_out:
            shortcut = linear(x, self.proj)
            if self.q_stride:
                shortcut = max_pool_hw(shortcut, self.q_stride)
        window = self.window
        if window > 0:
            height, width = x.shape[1], x.shape[2]
            x, padded_hw = window_partition(x, window)
        x = self.attn(x)
        if self.q_stride:
            window = self.window // self.q_stride
            height, width = shortcut.shape[1:3]
            padded_hw = (height + (window - height % window) % window, width + (window - width % window) % window)
        if self.window > 0:
            x = window_unpartition(x, window, padded_hw, (height, width))
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class Hiera(nn.Module):
    """The hierarchical trunk; returns one channels-last (B, H, W, C) map per stage, highest resolution first."""

    def __init__(self, config: HieraConfig, q_pool_stages: int = 3, q_stride: int = 2) -> None:
        super().__init__()
        self.config = config
        stages = config.stages
        self.stage_ends = [sum(stages[: i + 1]) - 1 for i in range(len(stages))]
        q_pool_blocks = [end + 1 for end in self.stage_ends[:-1]][:q_pool_stages]
        embed_dim, num_heads = config.embed_dim, config.num_heads
        self.patch_embed = PatchEmbed(embed_dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, embed_dim, *config.background_pos_size))
        first_window = config.window_spec[0]
        self.pos_embed_window = nn.Parameter(torch.zeros(1, embed_dim, first_window, first_window))
        self.blocks = nn.ModuleList()
        stage = 1
        for index in range(config.depth):
            dim_out = embed_dim
            # the window size lags a block: a stage's first block keeps the previous stage's window
            window = 0 if index in config.global_attention_blocks else config.window_spec[stage - 1]
            if index - 1 in self.stage_ends:
                dim_out = embed_dim * 2
                num_heads *= 2
                stage += 1
            stride = q_stride if index in q_pool_blocks else 0
            self.blocks.append(HieraBlock(embed_dim, dim_out, num_heads, window, stride))
            embed_dim = dim_out
        self._pos_cache: tuple[tuple, torch.Tensor] | None = None

    def position_embedding(self, height: int, width: int, dtype: torch.dtype) -> torch.Tensor:
        """Background embedding (bicubic-resized) plus the tiled window embedding, channels-last; cached."""
        params = (self.pos_embed, self.pos_embed_window)

        def compute() -> torch.Tensor:
            window = self.pos_embed_window.float()
            embed = F.interpolate(self.pos_embed.float(), size=(height, width), mode="bicubic")
            reps = [a // b for a, b in zip(embed.shape, window.shape)]
            return (embed + window.tile(reps)).permute(0, 2, 3, 1).to(dtype).contiguous()

        key = lambda: (height, width, dtype, params[0].device) + weights_key(params)  # noqa: E731
        return cached(self, "_pos_cache", key, compute)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.patch_embed(x)
        x = x + self.position_embedding(x.shape[1], x.shape[2], x.dtype)
        outputs = []
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index in self.stage_ends:
                outputs.append(x)
        return outputs
