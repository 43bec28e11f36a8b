"""Prompt encoder: points (with labels), box corners and low-res mask prompts into decoder embeddings."""

from __future__ import annotations

import torch
from torch import nn

from .layers import LayerNorm2d
from .position import RandomFourierEncoding

# point labels understood by SAM
PAD_LABEL = -1
NEGATIVE_LABEL = 0
POSITIVE_LABEL = 1
BOX_TOP_LEFT_LABEL = 2
BOX_BOTTOM_RIGHT_LABEL = 3


class PromptEncoder(nn.Module):
    """Sparse embeddings for points/box corners and a dense embedding for the mask prompt."""

    def __init__(self, embed_dim: int, embedding_size: int, image_size: int, mask_in_chans: int = 16) -> None:
        super().__init__()
        self.embed_dim = embed_dim
        self.embedding_size = (embedding_size, embedding_size)
        self.image_size = (image_size, image_size)
        self.mask_input_size = (4 * embedding_size, 4 * embedding_size)
        self.pe_layer = RandomFourierEncoding(embed_dim // 2)
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, embed_dim) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, embed_dim)
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, mask_in_chans // 4, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans // 4),
            nn.GELU(),
            nn.Conv2d(mask_in_chans // 4, mask_in_chans, kernel_size=2, stride=2),
            LayerNorm2d(mask_in_chans),
            nn.GELU(),
            nn.Conv2d(mask_in_chans, embed_dim, kernel_size=1),
        )
        self.no_mask_embed = nn.Embedding(1, embed_dim)

    def dense_positional_encoding(self) -> torch.Tensor:
        """(1, C, 64, 64) encoding of the image-embedding grid; computed once and cached."""
        return self.pe_layer.dense(*self.embedding_size).unsqueeze(0)

    def embed_points(self, coords: torch.Tensor, labels: torch.Tensor, pad: bool) -> torch.Tensor:
        """coords (B, N, 2) in model-input pixels, labels (B, N) -> (B, N[+1], C)."""
        coords = coords + 0.5  # centre of the pixel
        if pad:
            coords = torch.cat([coords, coords.new_zeros((coords.shape[0], 1, 2))], dim=1)
            labels = torch.cat([labels, -torch.ones_like(labels[:, :1])], dim=1)
        embedding = self.pe_layer.encode_pixels(coords, self.image_size)
        is_pad = (labels == PAD_LABEL).unsqueeze(-1)
        embedding = torch.where(is_pad, torch.zeros_like(embedding) + self.not_a_point_embed.weight, embedding)
        for label, table in enumerate(self.point_embeddings):
            embedding = torch.where((labels == label).unsqueeze(-1), embedding + table.weight, embedding)
        return embedding

    def embed_mask(self, masks: torch.Tensor) -> torch.Tensor:
        return self.mask_downscaling(masks)

    def forward(
        self,
        points: tuple[torch.Tensor, torch.Tensor] | None,
        masks: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Sparse (B, N, C) and dense (B, C, 64, 64) embeddings. Boxes arrive as labelled corner points."""
        device = self.point_embeddings[0].weight.device
        if points is not None:
            batch = points[0].shape[0]
        elif masks is not None:
            batch = masks.shape[0]
        else:
            batch = 1
        if points is not None:
            sparse = self.embed_points(points[0], points[1], pad=True)
        else:
            sparse = torch.empty((batch, 0, self.embed_dim), device=device)
        if masks is not None:
            dense = self.embed_mask(masks)
        else:
            dense = self.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(batch, -1, *self.embedding_size)
        return sparse, dense
