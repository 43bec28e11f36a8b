"""Positional encodings: 2-D sine maps, random Fourier features for prompts, axial RoPE, 1-D sine."""

from __future__ import annotations

import math

import torch
from torch import nn

from .caches import cached, weights_key


class SinePositionEncoding(nn.Module):
    """The DETR-style normalised sine/cosine map for an NCHW feature map (cached per size and device)."""

    def __init__(self, num_pos_feats: int, temperature: float = 10000.0) -> None:
        super().__init__()
        if num_pos_feats % 2:
            raise ValueError("num_pos_feats must be even")
        self.half_feats = num_pos_feats // 2
        self.temperature = temperature
        self.scale = 2 * math.pi
        self._cache: dict[tuple, torch.Tensor] = {}

    def _compute(self, height: int, width: int, device: torch.device) -> torch.Tensor:
        eps = 1e-6
        y = torch.arange(1, height + 1, dtype=torch.float32, device=device).view(-1, 1).expand(height, width)
        x = torch.arange(1, width + 1, dtype=torch.float32, device=device).view(1, -1).expand(height, width)
        y = y / (height + eps) * self.scale
        x = x / (width + eps) * self.scale
        dim_t = torch.arange(self.half_feats, dtype=torch.float32, device=device)
        dim_t = self.temperature ** (2 * (dim_t // 2) / self.half_feats)
        pos_x = x[:, :, None] / dim_t
        pos_y = y[:, :, None] / dim_t
        pos_x = torch.stack((pos_x[:, :, 0::2].sin(), pos_x[:, :, 1::2].cos()), dim=3).flatten(2)
        pos_y = torch.stack((pos_y[:, :, 0::2].sin(), pos_y[:, :, 1::2].cos()), dim=3).flatten(2)
        return torch.cat((pos_y, pos_x), dim=2).permute(2, 0, 1).contiguous()

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encoding shaped (B, C, H, W) for the feature map `x`, in x's dtype."""
        key = (x.shape[-2], x.shape[-1], x.device, x.dtype)
        if key not in self._cache:
            self._cache[key] = self._compute(x.shape[-2], x.shape[-1], x.device).to(x.dtype)
        return self._cache[key].unsqueeze(0).expand(x.shape[0], -1, -1, -1)


class RandomFourierEncoding(nn.Module):
    """SAM's prompt encoding: coordinates in [0, 1] projected on fixed random Gaussian frequencies."""

    def __init__(self, num_pos_feats: int = 64) -> None:
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn((2, num_pos_feats)))
        self._dense_cache: tuple[tuple, torch.Tensor] | None = None

    def _encode(self, coords: torch.Tensor) -> torch.Tensor:
        coords = 2 * coords - 1
        coords = coords @ self.positional_encoding_gaussian_matrix
        coords = 2 * math.pi * coords
        return torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)

    def dense(self, height: int, width: int) -> torch.Tensor:
        """(C, H, W) encoding of every cell centre of an H x W grid; cached until the buffer changes."""
        matrix = self.positional_encoding_gaussian_matrix

        def compute() -> torch.Tensor:
            grid = torch.ones((height, width), device=matrix.device, dtype=torch.float32)
            y = (grid.cumsum(dim=0) - 0.5) / height
            x = (grid.cumsum(dim=1) - 0.5) / width
            return self._encode(torch.stack([x, y], dim=-1)).permute(2, 0, 1).contiguous()

        return cached(self, "_dense_cache", lambda: (height, width, matrix.device) + weights_key([matrix]), compute)

    def encode_pixels(self, coords: torch.Tensor, image_size: tuple[int, int]) -> torch.Tensor:
        """Encode (..., 2) x/y pixel coordinates of an image of size (H, W)."""
        normalized = torch.stack((coords[..., 0] / image_size[1], coords[..., 1] / image_size[0]), dim=-1)
        return self._encode(normalized.to(torch.float32))


def axial_rotations(dim: int, end_x: int, end_y: int, theta: float = 10000.0) -> torch.Tensor:
    """Complex rotations (end_x*end_y, dim/2) of 2-D axial RoPE: half the pairs rotate with x, half with y."""
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 4)[: dim // 4].float() / dim))
    t = torch.arange(end_x * end_y, dtype=torch.float32)
    t_x = t % end_x
    t_y = torch.div(t, end_x, rounding_mode="floor")
    angles_x = torch.outer(t_x, freqs)
    angles_y = torch.outer(t_y, freqs)
    rot_x = torch.polar(torch.ones_like(angles_x), angles_x)
    rot_y = torch.polar(torch.ones_like(angles_y), angles_y)
    return torch.cat([rot_x, rot_y], dim=-1)


def rotate(x: torch.Tensor, rotations: torch.Tensor) -> torch.Tensor:
    """Apply complex `rotations` (N, D/2) to x (..., N, D) pairwise; returns x's dtype."""
    pairs = torch.view_as_complex(x.float().reshape(*x.shape[:-1], -1, 2))
    return torch.view_as_real(pairs * rotations).flatten(-2).type_as(x)


def sine_1d(positions: torch.Tensor, dim: int, temperature: float = 10000.0) -> torch.Tensor:
    """1-D sine/cosine embedding of (N,) positions -> (N, dim)."""
    half = dim // 2
    dim_t = torch.arange(half, dtype=torch.float32, device=positions.device)
    dim_t = temperature ** (2 * (dim_t // 2) / half)
    angles = positions.unsqueeze(-1) / dim_t
    return torch.cat([angles.sin(), angles.cos()], dim=-1)
