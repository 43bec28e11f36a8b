"""SAM's two-way transformer: prompt tokens and image tokens attend to each other."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .attention import Attention
from .layers import MLP
from .low_rank_attention import image_to_tokens, tokens_to_image


@dataclass
class FirstLayerKeys:
    """The first block's image-side projections: they depend on the image but not on the prompt."""

    keys: torch.Tensor  # (1, N, C) image tokens + dense prompt embedding
    keys_with_pe: torch.Tensor
    token_to_image_k: torch.Tensor
    token_to_image_v: torch.Tensor
    image_to_token_q: torch.Tensor


class TwoWayAttentionBlock(nn.Module):
    """Token self-attention, token->image, token MLP, image->token; each followed by LayerNorm."""

    def __init__(self, dim: int, num_heads: int, mlp_dim: int, downsample_rate: int, skip_first_layer_pe: bool):
        super().__init__()
        self.self_attn = Attention(dim, num_heads)
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn_token_to_image = Attention(dim, num_heads, downsample_rate=downsample_rate)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLP(dim, mlp_dim, dim, num_layers=2, activation=nn.ReLU)
        self.norm3 = nn.LayerNorm(dim)
        self.norm4 = nn.LayerNorm(dim)
        self.cross_attn_image_to_token = Attention(dim, num_heads, downsample_rate=downsample_rate)
        self.skip_first_layer_pe = skip_first_layer_pe

    def image_projections(self, keys: torch.Tensor, key_pe: torch.Tensor) -> FirstLayerKeys:
        keys_with_pe = keys + key_pe
        token_to_image, image_to_token = self.cross_attn_token_to_image, self.cross_attn_image_to_token
        return FirstLayerKeys(
            keys,
            keys_with_pe,
            token_to_image.k_proj(keys_with_pe),
            token_to_image.v_proj(keys),
            image_to_token.q_proj(keys_with_pe),
        )

    def forward(
        self,
        queries: torch.Tensor,
        keys: torch.Tensor,
        query_pe: torch.Tensor,
        key_pe: torch.Tensor,
        precomputed: FirstLayerKeys | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.skip_first_layer_pe:
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        queries = self.norm1(queries)

        token_to_image, image_to_token = self.cross_attn_token_to_image, self.cross_attn_image_to_token
        q = queries + query_pe
        if precomputed is not None:
            keys, keys_with_pe = precomputed.keys, precomputed.keys_with_pe
            image_queries = precomputed.image_to_token_q
            q = token_to_image.q_proj(q)
            attended = token_to_image.attend(q, precomputed.token_to_image_k, precomputed.token_to_image_v)
        else:
            keys_with_pe, image_queries = keys + key_pe, None
            attended = tokens_to_image(token_to_image, q, keys_with_pe, keys)
        queries = self.norm2(queries + attended)
        queries = self.norm3(queries + self.mlp(queries))

        q = queries + query_pe
        keys = self.norm4(image_to_tokens(image_to_token, keys_with_pe, q, queries, image_queries, residual=keys))
        return queries, keys


class TwoWayTransformer(nn.Module):
    """`depth` two-way blocks and a final token->image attention."""

    def __init__(
        self, depth: int = 2, dim: int = 256, num_heads: int = 8, mlp_dim: int = 2048, downsample_rate: int = 2
    ):
        super().__init__()
        self.layers = nn.ModuleList(
            TwoWayAttentionBlock(dim, num_heads, mlp_dim, downsample_rate, skip_first_layer_pe=(i == 0))
            for i in range(depth)
        )
        self.final_attn_token_to_image = Attention(dim, num_heads, downsample_rate=downsample_rate)
        self.norm_final_attn = nn.LayerNorm(dim)

    def forward(
        self,
        image_tokens: torch.Tensor,
        image_pe_tokens: torch.Tensor,
        point_embedding: torch.Tensor,
        first_layer: FirstLayerKeys | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """image_tokens, image_pe_tokens: (B or 1, HW, C); point_embedding: (B, N, C).

        `first_layer` (from `self.layers[0].image_projections`) skips work that only depends on the image.
        Returns the processed tokens and image tokens.
        """
        queries, keys = point_embedding, image_tokens
        for index, layer in enumerate(self.layers):
            queries, keys = layer(queries, keys, point_embedding, image_pe_tokens, first_layer if index == 0 else None)
        q = queries + point_embedding
        attended = tokens_to_image(self.final_attn_token_to_image, q, keys + image_pe_tokens, keys)
        return self.norm_final_attn(queries + attended), keys
