"""RepViT-M1, EdgeTAM's image trunk: parameter names of timm's `repvit_m1` feature extractor, no timm needed.

Every convolution is followed by a BatchNorm in the checkpoint. In eval mode each conv+BN pair, and each
re-parameterisable depth-wise mixer (3x3 + 1x1 + identity), runs as one fused convolution, computed once
from the weights and recomputed whenever a weight changes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .caches import cached, weights_key
from .config import RepViTConfig


def _weights_key(module: nn.Module) -> tuple:
    return weights_key(module.state_dict(keep_vars=True).values())


def _fold_batch_norm(weight: torch.Tensor, bias: torch.Tensor | None, bn: nn.BatchNorm2d):
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    folded_bias = bn.bias - bn.running_mean * scale
    if bias is not None:
        folded_bias = folded_bias + bias * scale
    return weight * scale.view(-1, 1, 1, 1), folded_bias


class ConvNorm(nn.Module):
    """Conv2d without bias, then BatchNorm2d (`c`, `bn`); in eval mode one conv with folded weights."""

    def __init__(self, in_dim: int, out_dim: int, kernel: int = 1, stride: int = 1, pad: int = 0, groups: int = 1):
        super().__init__()
        self.c = nn.Conv2d(in_dim, out_dim, kernel, stride, pad, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_dim)
        self._fused: tuple | None = None

    def fused(self) -> tuple[torch.Tensor, torch.Tensor]:
        fold = lambda: _fold_batch_norm(self.c.weight, None, self.bn)  # noqa: E731
        return cached(self, "_fused", lambda: _weights_key(self), fold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return self.bn(self.c(x))
        weight, bias = self.fused()
        return F.conv2d(x, weight, bias, self.c.stride, self.c.padding, groups=self.c.groups)


class RepVggDw(nn.Module):
    """Depth-wise 3x3 ConvNorm + depth-wise 1x1 ConvNorm + identity (the `legacy` RepViT mixer)."""

    def __init__(self, dim: int, kernel: int = 3) -> None:
        super().__init__()
        self.conv = ConvNorm(dim, dim, kernel, 1, kernel // 2, groups=dim)
        self.conv1 = ConvNorm(dim, dim, 1, 1, 0, groups=dim)
        self._fused: tuple | None = None

    def fused(self) -> tuple[torch.Tensor, torch.Tensor]:
        return cached(self, "_fused", lambda: _weights_key(self), self._fold)

    def _fold(self) -> tuple[torch.Tensor, torch.Tensor]:
        weight, bias = self.conv.fused()
        point_weight, point_bias = self.conv1.fused()
        centre = weight.shape[-1] // 2
        weight = weight.clone()
        weight[:, :, centre, centre] += point_weight[:, :, 0, 0] + 1.0
        return weight, bias + point_bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return self.conv(x) + self.conv1(x) + x
        weight, bias = self.fused()
        return F.conv2d(x, weight, bias, 1, weight.shape[-1] // 2, groups=weight.shape[0])


class SqueezeExcite(nn.Module):
    """Channel gate: mean over the map, 1x1 conv, ReLU, 1x1 conv, sigmoid."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.fc2(F.relu(self.fc1(x.mean((2, 3), keepdim=True))))
        return x * torch.sigmoid(gate)


def se_hidden(dim: int, ratio: float = 0.25, divisor: int = 8) -> int:
    """timm's `make_divisible(dim * ratio, 8, round_limit=0)`: the nearest multiple of 8, at least 8."""
    return max(divisor, int(dim * ratio + divisor / 2) // divisor * divisor)


class Mlp(nn.Module):
    """1x1 ConvNorm, GELU, 1x1 ConvNorm."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.conv1 = ConvNorm(dim, hidden)
        self.conv2 = ConvNorm(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.gelu(self.conv1(x)))


class Block(nn.Module):
    """Token mixer (re-parameterisable depth-wise conv), optional squeeze-excite, residual channel MLP."""

    def __init__(self, dim: int, mlp_ratio: int, use_se: bool) -> None:
        super().__init__()
        self.token_mixer = RepVggDw(dim)
        self.se = SqueezeExcite(dim, se_hidden(dim)) if use_se else nn.Identity()
        self.channel_mixer = Mlp(dim, dim * mlp_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.se(self.token_mixer(x))
        return x + self.channel_mixer(x)


class Downsample(nn.Module):
    """A block, a stride-2 depth-wise conv, a 1x1 conv to the wider stage, and a residual MLP."""

    def __init__(self, in_dim: int, out_dim: int, mlp_ratio: int) -> None:
        super().__init__()
        self.pre_block = Block(in_dim, mlp_ratio, use_se=False)
        self.spatial_downsample = ConvNorm(in_dim, in_dim, 3, 2, 1, groups=in_dim)
        self.channel_downsample = ConvNorm(in_dim, out_dim)
        self.ffn = Mlp(out_dim, out_dim * mlp_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.channel_downsample(self.spatial_downsample(self.pre_block(x)))
        return x + self.ffn(x)


class Stage(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, depth: int, mlp_ratio: int, downsample: bool) -> None:
        super().__init__()
        self.downsample = Downsample(in_dim, out_dim, mlp_ratio) if downsample else nn.Identity()
        # squeeze-excite on every other block, starting with the first
        self.blocks = nn.Sequential(*(Block(out_dim, mlp_ratio, use_se=i % 2 == 0) for i in range(depth)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.downsample(x))


class Stem(nn.Module):
    """Two stride-2 3x3 ConvNorms with a GELU between: stride 4."""

    def __init__(self, out_dim: int) -> None:
        super().__init__()
        self.conv1 = ConvNorm(3, out_dim // 2, 3, 2, 1)
        self.conv2 = ConvNorm(out_dim // 2, out_dim, 3, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(F.gelu(self.conv1(x)))


class RepViTBody(nn.Module):
    """The stem and four stages, named as timm's flattened feature extractor names them."""

    def __init__(self, config: RepViTConfig) -> None:
        super().__init__()
        self.stem = Stem(config.embed_dims[0])
        in_dim = config.embed_dims[0]
        for index, (dim, depth) in enumerate(zip(config.embed_dims, config.depths)):
            self.add_module(f"stages_{index}", Stage(in_dim, dim, depth, config.mlp_ratio, downsample=index > 0))
            in_dim = dim
        self.num_stages = len(config.depths)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.stem(x)
        outputs = []
        for index in range(self.num_stages):
            x = getattr(self, f"stages_{index}")(x)
            outputs.append(x)
        return outputs


class RepViTTrunk(nn.Module):
    """Images (B, 3, H, W) -> channels-last maps at strides 4, 8, 16, 32 (what the FPN neck consumes).

    The convolutions run in channels-last memory layout, oneDNN's fast path on the CPU.
    """

    def __init__(self, config: RepViTConfig) -> None:
        super().__init__()
        self.body = RepViTBody(config)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        maps = self.body(images.contiguous(memory_format=torch.channels_last))
        return [m.permute(0, 2, 3, 1) for m in maps]
