"""Dynamic int8 linears for the CPU: weights packed per output channel once, inputs quantised per call."""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn

from .caches import weights_key
from .linear import release_packed_weights

# Linears with fewer multiply-adds per output than this stay float: quantising their input costs more
# than the int8 GEMM saves (measured on AVX2: a 256 -> 2048 expansion is 1.1x fp32 time, 2048 -> 256 0.55x).
MIN_INPUT_FEATURES = 96


class Int8Linear(nn.Linear):
    """An nn.Linear (same parameters, same state dict) whose float32 CPU forward runs as an int8 GEMM.

    The weight is quantised symmetrically per output channel; each input is quantised on the fly
    (`reduce_range`: 7-bit activations, so AVX2 kernels without VNNI cannot saturate their 16-bit
    intermediate sums). Other dtypes and devices use the float weight.
    """

    _packed: object = None
    _packed_key: tuple | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype != torch.float32 or x.device.type != "cpu":
            return F.linear(x, self.weight, self.bias)
        return torch.ops.quantized.linear_dynamic(x, self.packed(), True)

    def packed(self):
        key = weights_key([self.weight] if self.bias is None else [self.weight, self.bias])
        if self._packed_key != key:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # quantised tensor creation is marked deprecated
                weight = self.weight.detach().float()
                scales = (weight.abs().amax(dim=1) / 127.0).clamp_min(1e-12).double()
                zero_points = torch.zeros(weight.shape[0], dtype=torch.long)
                quantised = torch.quantize_per_channel(weight, scales, zero_points, 0, torch.qint8)
                bias = None if self.bias is None else self.bias.detach().float()
                self._packed = torch.ops.quantized.linear_prepack(quantised, bias)
            self._packed_key = key
        return self._packed


def quantize_linears(module: nn.Module) -> int:
    """Make every large enough nn.Linear under `module` an Int8Linear in place; returns how many."""
    count = 0
    for child in module.modules():
        if type(child) is nn.Linear and child.in_features >= MIN_INPUT_FEATURES:
            child.__class__ = Int8Linear
            release_packed_weights(child)  # the float weight's oneDNN copy
            count += 1
    return count


def dequantize_linears(module: nn.Module) -> None:
    """Undo `quantize_linears` (the float weights were never changed)."""
    for child in module.modules():
        if type(child) is Int8Linear:
            child.__class__ = nn.Linear
            child.__dict__.pop("_packed", None)
            child.__dict__.pop("_packed_key", None)
