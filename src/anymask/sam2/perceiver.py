"""EdgeTAM's 2-D spatial perceiver: compresses a 64x64 memory map into 256 global and 16x16 window latents."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .config import PerceiverConfig
from .position import SinePositionEncoding


def feed_forward(dim: int, mult: int) -> nn.Sequential:
    """LayerNorm, bias-free expansion, GELU, bias-free projection (indices 0, 1, 3 hold the weights)."""
    return nn.Sequential(
        nn.LayerNorm(dim),
        nn.Linear(dim, dim * mult, bias=False),
        nn.GELU(),
        nn.Linear(dim * mult, dim, bias=False),
    )


class CrossAttention(nn.Module):
    """Latents attend to inputs (one head); positions, when given, are added to both keys and values."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm_x = nn.LayerNorm(dim)
        self.norm_latents = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_kv = nn.Linear(dim, 2 * dim, bias=False)
        self.to_out = nn.Linear(dim, dim, bias=False)

    def forward(self, latents: torch.Tensor, x: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        q = self.to_q(self.norm_latents(latents))
        k, v = self.to_kv(self.norm_x(x)).chunk(2, dim=-1)
        if pos is not None:
            k, v = k + pos, v + pos
        out = F.scaled_dot_product_attention(q.unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1)).squeeze(1)
        return self.to_out(out)


class SelfAttention(nn.Module):
    """Pre-norm single-head self-attention among the latents."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_kv = nn.Linear(dim, 2 * dim, bias=False)
        self.to_out = nn.Linear(dim, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(x)
        k, v = self.to_kv(x).chunk(2, dim=-1)
        out = F.scaled_dot_product_attention(self.to_q(x).unsqueeze(1), k.unsqueeze(1), v.unsqueeze(1))
        return self.to_out(out.squeeze(1))


class PerceiverLayer(nn.Module):
    """Cross-attention and MLP, then self-attention and MLP, each residual."""

    def __init__(self, dim: int, ff_mult: int) -> None:
        super().__init__()
        self.attn = CrossAttention(dim)
        self.ff = feed_forward(dim, ff_mult)
        self.self_attn = SelfAttention(dim)
        self.self_ff = feed_forward(dim, ff_mult)

    def forward(self, latents: torch.Tensor, x: torch.Tensor, pos: torch.Tensor | None = None) -> torch.Tensor:
        latents = latents + self.attn(latents, x, pos)
        latents = latents + self.ff(latents)
        latents = latents + self.self_attn(latents)
        return latents + self.self_ff(latents)


class PerceiverResampler(nn.Module):
    """(B, C, H, W) memory and positions -> (B, num_latents + grid^2, C) tokens and their positions.

    The global latents attend to the whole map with its positions added to keys and values, and carry
    zero positions. Each window latent attends only to its own (H/grid x W/grid) window, and carries the
    sine position of its grid cell. Both share the same layers and final LayerNorm. Unlike the official
    code, any batch size works (its `.view` on an expanded tensor fails for more than one object).
    """

    def __init__(self, config: PerceiverConfig) -> None:
        super().__init__()
        self.config = config
        self.latents = nn.Parameter(torch.randn(config.num_latents, config.dim))
        self.latents_2d = nn.Parameter(torch.randn(config.grid * config.grid, config.dim))
        self.layers = nn.ModuleList(PerceiverLayer(config.dim, config.ff_mult) for _ in range(config.depth))
        self.norm = nn.LayerNorm(config.dim)
        self.position_encoding = SinePositionEncoding(config.dim)

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        global_latents = self._global(x, pos)
        window_latents, window_pos = self._windows(x)
        latents = torch.cat([global_latents, window_latents], dim=1)
        positions = torch.cat([torch.zeros_like(global_latents), window_pos.to(latents.dtype)], dim=1)
        return latents, positions

    def _global(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        latents = self.latents.unsqueeze(0).expand(batch, -1, -1)
        tokens = x.permute(0, 2, 3, 1).flatten(1, 2)
        token_pos = pos.permute(0, 2, 3, 1).flatten(1, 2).to(tokens.dtype)
        for layer in self.layers:
            latents = layer(latents, tokens, token_pos)
        return self.norm(latents)

    def _windows(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, channels, height, width = x.shape
        grid = self.config.grid
        size = height // grid
        windows = x.permute(0, 2, 3, 1).reshape(batch, grid, size, grid, size, channels)
        windows = windows.permute(0, 1, 3, 2, 4, 5).reshape(batch * grid * grid, size * size, channels)
        latents = self.latents_2d.unsqueeze(0).expand(batch, -1, -1).reshape(-1, 1, channels)
        for layer in self.layers:
            latents = layer(latents, windows)
        latent_map = latents.reshape(batch, grid, grid, channels).permute(0, 3, 1, 2)
        positions = self.position_encoding(latent_map).flatten(2).transpose(1, 2)
        return self.norm(latents.reshape(batch, grid * grid, channels)), positions
