"""Image encoder = trunk (Hiera, or EdgeTAM's RepViT) + FPN neck: 256-channel features at strides 4, 8, 16."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import HieraConfig, SAM2Config
from .fast_ops import conv1x1_channels_last, nchw_view, nhwc_view
from .hiera import Hiera
from .linear import linear_weights
from .position import SinePositionEncoding
from .repvit import RepViTTrunk


@dataclass
class BackboneFeatures:
    """Neck outputs, highest resolution first: stride 4, 8, 16 (the lowest level is dropped, `scalp=1`);
    256 channels, or a head's channels at the levels given heads.

    Feature maps are channels-last (B, H, W, C); the position map is the stride-16 one, NCHW.
    """

    feature_maps: list[torch.Tensor]
    position_map: torch.Tensor


class FpnNeck(nn.Module):
    """1x1 lateral convolutions with nearest-neighbour top-down fusion on the configured levels."""

    def __init__(self, d_model: int, backbone_channel_list: tuple[int, ...], top_down_levels: tuple[int, ...]):
        super().__init__()
        self.position_encoding = SinePositionEncoding(d_model)
        self.convs = nn.ModuleList()
        for channels in backbone_channel_list:
            lateral = nn.Sequential()
            lateral.add_module("conv", nn.Conv2d(channels, d_model, kernel_size=1))
            self.convs.append(lateral)
        self.top_down_levels = set(top_down_levels)

    def forward(
        self, trunk_outputs: list[torch.Tensor], heads: dict[int, nn.Conv2d] | None = None
    ) -> list[torch.Tensor]:
        """Channels-last trunk maps in, channels-last 256-channel maps out (same order).

        A level given a 1x1 `head` returns head(lateral) instead, computed as one folded 1x1 convolution
        where no top-down fusion reads that level's 256 channels (the decoder's stride-4/8 projections:
        96 -> 32 channels over 256x256 tokens instead of 96 -> 256 -> 32).
        """
        heads = heads or {}
        count = len(self.convs)
        features: list[torch.Tensor] = [None] * count  # type: ignore[list-item]
        previous = None
        for level in range(count - 1, -1, -1):
            conv = self.convs[count - 1 - level].conv
            if level in heads and not ({level, level - 1} & self.top_down_levels):
                features[level] = folded_conv1x1(trunk_outputs[level], conv, heads[level])
                continue
            lateral = conv1x1_channels_last(trunk_outputs[level], conv)
            if level in self.top_down_levels and previous is not None:
                top_down = F.interpolate(nchw_view(previous), scale_factor=2.0, mode="nearest")
                previous = lateral + nhwc_view(top_down)
            else:
                previous = lateral
            features[level] = conv1x1_channels_last(previous, heads[level]) if level in heads else previous
        return features


def folded_conv1x1(x: torch.Tensor, first: nn.Conv2d, second: nn.Conv2d) -> torch.Tensor:
    """second(first(x)) for two 1x1 convolutions on a channels-last map, as one (weights composed in fp32)."""
    first_weight, second_weight = first.weight.flatten(1).float(), second.weight.flatten(1).float()
    weight = second_weight @ first_weight
    bias = second_weight @ first.bias.float() + second.bias.float()
    return linear_weights(x, weight.to(x.dtype), bias.to(x.dtype))


class ImageEncoder(nn.Module):
    """Runs trunk and neck and drops the coarsest level (`scalp=1`, as every official config does)."""

    def __init__(self, config: SAM2Config) -> None:
        super().__init__()
        self.trunk = Hiera(config.trunk) if isinstance(config.trunk, HieraConfig) else RepViTTrunk(config.trunk)
        self.neck = FpnNeck(config.hidden_dim, config.trunk.channel_list, config.fpn_top_down_levels)
        self.scalp = 1

    def forward(self, images: torch.Tensor, heads: dict[int, nn.Conv2d] | None = None) -> BackboneFeatures:
        """heads: 1x1 convolutions applied to the given levels' outputs (see FpnNeck.forward)."""
        features = self.neck(self.trunk(images), heads)[: -self.scalp]
        return BackboneFeatures(features, self.neck.position_encoding(nchw_view(features[-1])))
