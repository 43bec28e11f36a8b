"""Projected multi-head attention (SAM's `Attention`) and its rotary-position variant for memory attention."""

from __future__ import annotations

import math

import torch
from torch import nn

from .caches import cached, weights_key
from .fast_ops import attention
from .linear import linear, linear_weights
from .position import axial_rotations, rotate


class Attention(nn.Module):
    """Attention with separate q/k/v projections to `embedding_dim // downsample_rate` channels."""

    def __init__(
        self,
        embedding_dim: int,
        num_heads: int,
        downsample_rate: int = 1,
        kv_in_dim: int | None = None,
    ) -> None:
        super().__init__()
        self.embedding_dim = embedding_dim
        self.internal_dim = embedding_dim // downsample_rate
        self.num_heads = num_heads
        if self.internal_dim % num_heads:
            raise ValueError("num_heads must divide the internal dimension")
        kv_dim = kv_in_dim if kv_in_dim is not None else embedding_dim
        self.q_proj = nn.Linear(embedding_dim, self.internal_dim)
        self.k_proj = nn.Linear(kv_dim, self.internal_dim)
        self.v_proj = nn.Linear(kv_dim, self.internal_dim)
        self.out_proj = nn.Linear(self.internal_dim, embedding_dim)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, channels = x.shape
        return x.reshape(batch, tokens, self.num_heads, channels // self.num_heads).transpose(1, 2)

    def merge_heads(self, x: torch.Tensor) -> torch.Tensor:
        batch, heads, tokens, per_head = x.shape
        return x.transpose(1, 2).reshape(batch, tokens, heads * per_head)

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Attention over already projected q, k, v (B, N, internal_dim); batch 1 broadcasts."""
        batch = max(q.shape[0], k.shape[0])
        q, k, v = (t.expand(batch, -1, -1) if t.shape[0] != batch else t for t in (q, k, v))
        out = attention(self.split_heads(q), self.split_heads(k), self.split_heads(v))
        return linear(self.merge_heads(out), self.out_proj)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return self.attend(linear(q, self.q_proj), linear(k, self.k_proj), linear(v, self.v_proj))


class RoPEAttention(Attention):
    """Attention whose queries and keys are rotated by 2-D axial RoPE over a square token grid.

    With `repeat_keys`, the keys hold several grids (one per memory frame) and the rotation repeats
    for each; the last `num_k_exclude_rope` keys (object pointers) are not rotated.
    With `key_grid` (EdgeTAM's RoPEAttentionv2), each of the `num_spatial_mem` memory frames holds
    unrotated global tokens followed by a `key_grid` x `key_grid` map rotated on that smaller grid.
    """

    def __init__(
        self, *args, rope_theta: float = 10000.0, repeat_keys: bool = False, key_grid: int | None = None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.rope_theta = rope_theta
        self.repeat_keys = repeat_keys
        self.key_grid = key_grid
        self._rotations: dict[tuple, torch.Tensor] = {}
        self._folded: tuple[tuple, tuple[torch.Tensor, torch.Tensor]] | None = None

    def _folds_values(self, q: torch.Tensor) -> bool:
        """One head, narrow values (64-channel memories), bf16 or on the CPU: attend to raw values, project after.

        Rows of the attention weights sum to 1, so P (M Wv^T + bv) Wo^T + bo = (P M) (Wo Wv)^T + (Wo bv + bo):
        4x fewer multiply-adds in the attention's second matmul. Exact in real arithmetic; in fp32 the
        outputs move by rounding only (~1e-6). fp32 on other devices keeps the official form.
        """
        narrow = self.num_heads == 1 and self.v_proj.in_features < self.internal_dim
        return narrow and (q.dtype == torch.bfloat16 or q.device.type == "cpu")

    def _folded_output(self, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        params = (self.v_proj.weight, self.v_proj.bias, self.out_proj.weight, self.out_proj.bias)

        def compute() -> tuple[torch.Tensor, torch.Tensor]:
            v_w, v_b, o_w, o_b = (p.float() for p in params)
            return (o_w @ v_w).to(dtype), (o_w @ v_b + o_b).to(dtype)

        return cached(self, "_folded", lambda: weights_key(params) + (dtype,), compute)

    def rotations(self, tokens: int, device: torch.device) -> torch.Tensor:
        key = (tokens, device)
        if key not in self._rotations:
            side = int(math.isqrt(tokens))
            if side * side != tokens:
                raise ValueError(f"RoPE attention needs a square token grid, got {tokens} tokens")
            dim = self.internal_dim // self.num_heads
            self._rotations[key] = axial_rotations(dim, side, side, self.rope_theta).to(device)
        return self._rotations[key]

    def _rotate_keys(self, k: torch.Tensor, rotations: torch.Tensor, num_rope: int, num_spatial_mem: int):
        """The first `num_rope` keys rotated: as the queries' grid, repeated per frame, or per `key_grid`."""
        batch, heads, _, width = k.shape
        if self.key_grid is None:
            if num_rope != rotations.shape[0] and not self.repeat_keys:
                raise ValueError("keys and queries differ in length but repeat_keys is off")
            # one grid per memory frame: the rotations broadcast over frames (no repeated copy of them)
            frames = k[:, :, :num_rope].reshape(batch, heads, -1, rotations.shape[0], width)
            return rotate(frames, rotations).flatten(2, 3)
        grid_rotations = self.rotations(self.key_grid * self.key_grid, k.device)
        frames = k[:, :, :num_rope].reshape(batch, heads, num_spatial_mem, -1, width)
        plain = frames.shape[-2] - grid_rotations.shape[0]
        rotated = rotate(frames[..., plain:, :], grid_rotations)
        return torch.cat([frames[..., :plain, :], rotated], dim=3).flatten(2, 3)

    def forward(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        num_k_exclude_rope: int = 0,
        num_spatial_mem: int = 0,
        key_bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """`key_bias` (B, 1, 1, N_keys): added to the scores, -inf for padded keys (fixed-shape tracking)."""
        fold = self._folds_values(q)
        q = self.split_heads(linear(q, self.q_proj))
        k = self.split_heads(linear(k, self.k_proj))
        v = v.unsqueeze(1) if fold else self.split_heads(linear(v, self.v_proj))
        rotations = self.rotations(q.shape[-2], q.device)
        q = rotate(q, rotations)
        if q.shape[0] != k.shape[0]:  # queries shared by every object of a batch
            q = q.expand(k.shape[0], -1, -1, -1)
        num_rope = k.shape[-2] - num_k_exclude_rope
        if num_rope > 0:
            rotated = self._rotate_keys(k, rotations, num_rope, num_spatial_mem)
            k = torch.cat([rotated, k[:, :, num_rope:]], dim=2) if num_k_exclude_rope else rotated
        out = attention(q, k, v, key_bias)
        if fold:
            weight, bias = self._folded_output(out.dtype)
            return linear_weights(out.squeeze(1), weight, bias)
        return linear(self.merge_heads(out), self.out_proj)
