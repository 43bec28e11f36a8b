"""Memory attention: the current frame's features attend to memories of past frames and object pointers."""

from __future__ import annotations

import torch
from torch import nn

from .attention import RoPEAttention
from .linear import Activation, linear


class MemoryAttentionLayer(nn.Module):
    """Pre-norm RoPE self-attention, RoPE cross-attention to memory, then a ReLU MLP."""

    def __init__(
        self, d_model: int = 256, memory_dim: int = 64, dim_feedforward: int = 2048, key_grid: int | None = None
    ) -> None:
        super().__init__()
        self.self_attn = RoPEAttention(d_model, num_heads=1)
        self.cross_attn_image = RoPEAttention(
            d_model, num_heads=1, repeat_keys=True, kv_in_dim=memory_dim, key_grid=key_grid
        )
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)

    def forward(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor,
        memory_pos: torch.Tensor,
        num_k_exclude_rope: int,
        num_spatial_mem: int = 0,
        key_bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        normed = self.norm1(tgt)
        tgt = tgt + self.self_attn(normed, normed, normed)
        normed = self.norm2(tgt)
        keys = memory + memory_pos
        tgt = tgt + self.cross_attn_image(normed, keys, memory, num_k_exclude_rope, num_spatial_mem, key_bias)
        normed = self.norm3(tgt)
        return tgt + linear(linear(normed, self.linear1, Activation.RELU), self.linear2)


class MemoryAttention(nn.Module):
    """`num_layers` memory-attention layers and a final LayerNorm; inputs are batch-first (B, N, C).

    `key_grid` (EdgeTAM): memory keys are rotated on the perceiver's window grid, not the image grid.
    """

    def __init__(
        self, d_model: int = 256, memory_dim: int = 64, num_layers: int = 4, key_grid: int | None = None
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            MemoryAttentionLayer(d_model, memory_dim, key_grid=key_grid) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)

    def forward(
        self,
        current: torch.Tensor,
        current_pos: torch.Tensor,
        memory: torch.Tensor,
        memory_pos: torch.Tensor,
        num_obj_ptr_tokens: int = 0,
        num_spatial_mem: int = 0,
        key_bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """current, current_pos: (B, HW, C); memory, memory_pos: (B, N, mem_dim); key_bias (B, 1, 1, N):
        -inf where a memory token is padding (see tracking/static_step.py), else 0.

        Objects of one frame share its tokens: given them as a batch-1 tensor expanded to B, the first
        layer's self-attention (and the cross-attention's queries) run once for all of them.
        """
        shared = current.shape[0] > 1 and current.stride(0) == 0 and current_pos.stride(0) == 0
        if shared:
            current, current_pos = current[:1], current_pos[:1]
        output = current + 0.1 * current_pos
        for layer in self.layers:
            output = layer(output, memory, memory_pos, num_obj_ptr_tokens, num_spatial_mem, key_bias)
        return self.norm(output)
