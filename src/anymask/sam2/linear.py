"""Linear layers on the CPU as one oneDNN call each, with the activation that follows fused into it.

PyTorch runs an fp32 `F.linear` on the CPU as MKL's sgemm after copying the bias into every output row;
the GELU or ReLU after it is one more pass over the output. oneDNN's inner product adds the bias and
applies the activation inside the GEMM (what inductor's CPU fusion calls), and on AMD CPUs it uses
AVX-512 where MKL keeps to AVX2 kernels. Measured on 2 Zen 5 cores (old and new alternating in one
process), fp32 set_image took 0.68x the time (0.94x with every kernel library held to AVX2) and bf16
set_image 0.88x (bf16 GEMMs were oneDNN's already; the fused GELU is the gain).
In fp32 on CPUs without AVX-512 a GELU runs after the GEMM instead, where it measured faster (`gelu_fused`).
Results equal `F.linear` up to float rounding. Small inputs, other devices, int8 layers, autograd and
torch.compile (whose inductor fuses on its own) keep `F.linear`.
"""

from __future__ import annotations

from enum import Enum
from functools import cache

import torch
import torch.nn.functional as F
from torch import nn

from .caches import cached, weights_key

# Fewer rows than this (the decoder's prompt tokens) stay with F.linear: oneDNN's per-call cost would dominate.
MIN_ROWS = 1024
PACKED_ATTRIBUTE = "_onednn_packed_weight"  # where `packed_weight` keeps its copy on an nn.Linear
# torch's CPU capabilities below AVX-512: bf16 is emulated there (models/precision.py), and fp32 GELU runs
# after the GEMM (see `gelu_fused`)
X86_WITHOUT_AVX512 = frozenset({"DEFAULT", "NO AVX", "AVX", "AVX2"})


class Activation(Enum):
    """What follows the linear: (oneDNN post-op, its algorithm, the eager function)."""

    NONE = ("none", "", None)
    GELU = ("gelu", "none", F.gelu)  # "none": the exact erf GELU, as nn.GELU()
    RELU = ("relu", "", F.relu)

    @classmethod
    def of(cls, module: nn.Module) -> Activation | None:
        """The activation an nn.GELU() / nn.ReLU() module computes; None for anything else."""
        if type(module) is nn.GELU and module.approximate == "none":
            return cls.GELU
        if type(module) is nn.ReLU:
            return cls.RELU
        return None


def onednn_applies(x: torch.Tensor, weight: torch.Tensor, min_rows: int | None = None) -> bool:
    """Whether `linear_weights(x, weight, ...)` takes oneDNN (a CPU input of at least `min_rows` rows, MIN_ROWS
    unless given, in fp32, or bf16 where native)."""
    rows = MIN_ROWS if min_rows is None else min_rows
    if x.device.type != "cpu" or x.dtype != weight.dtype or x.numel() < rows * x.shape[-1]:
        return False
    if x.dtype == torch.bfloat16:
        if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return False
    elif x.dtype != torch.float32:
        return False
    if torch.compiler.is_compiling() or not torch.backends.mkldnn.enabled or not _onednn_works(x.dtype):
        return False
    return not (torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad))


@cache
def _onednn_works(dtype: torch.dtype) -> bool:
    """Whether this PyTorch build runs oneDNN inner products in `dtype`, plain and packed (tried once on 2x2)."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        x = torch.ones(2, 2, dtype=dtype)
        y, packed = inner_product(x, x), inner_product(x, packed_operand(x, 2))
    except (RuntimeError, AttributeError, NotImplementedError):
        return False
    return bool((y == 2).all() and (packed == 2).all())


def inner_product(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """x @ weight.T as one oneDNN call, whatever the shapes (callers check `onednn_applies` first)."""
    return torch.ops.mkldnn._linear_pointwise(x, weight, None, "none", [], "")


def packed_operand(weight: torch.Tensor, rows: int) -> torch.Tensor:
    """`weight` reordered once into oneDNN's blocked layout for `inner_product` calls of about `rows` rows."""
    return torch.ops.mkldnn._reorder_linear_weight(weight, rows)


def linear_weights(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, activation: Activation = Activation.NONE
) -> torch.Tensor:
    """activation(F.linear(x, weight, bias)), as one oneDNN call for large CPU inputs."""
    if onednn_applies(x, weight):
        return _onednn_linear(x, weight, bias, activation)
    return _activate(F.linear(x, weight, bias), activation)


def linear(x: torch.Tensor, layer: nn.Module, activation: Activation = Activation.NONE) -> torch.Tensor:
    """activation(layer(x)) for an nn.Linear; other modules (Int8Linear) run their own forward.

    Through oneDNN, an nn.Linear's weight is reordered into oneDNN's blocked layout once and kept beside
    the plain one (`packed_weight`); given plain, every call reorders it again.
    """
    if type(layer) is not nn.Linear:
        return _activate(layer(x), activation)
    if onednn_applies(x, layer.weight):
        return _onednn_linear(x, packed_weight(layer, x.numel() // x.shape[-1]), layer.bias, activation)
    return _activate(F.linear(x, layer.weight, layer.bias), activation)


def packed_weight(layer: nn.Linear, rows: int) -> torch.Tensor:
    """The layer's weight in oneDNN's blocked layout, made for calls of about `rows` rows (any count works)
    and kept on the layer until the weight changes (see weights_key).

    The same values, so results are bitwise those of the plain weight. Measured on 2 Zen 5 cores, old and
    new alternating in one process (seven runs held to AVX2, five with AVX-512, two in bf16): sam2.1-tiny's
    image embedding 0.94-0.99x the time held to AVX2 (median 0.97x), 0.94-1.00x with AVX-512 in fp32,
    0.94-0.98x in bf16; a tracked frame 0.96x and 1.00x held to AVX2, 0.97x with AVX-512, 0.99x in bf16.
    Single linears of Hiera's later stages took 0.90-0.99x (the fewer rows per weight, the more a reorder
    costs). The price is a second copy of each such weight: resident memory after three fp32 images with
    sam2.1-tiny 1301 against 1250 MB; large's linear weights are 0.9 GB in fp32.
    """
    weight = layer.weight
    return cached(layer, PACKED_ATTRIBUTE, lambda: weights_key((weight,)), lambda: packed_operand(weight, rows))


def release_packed_weights(module: nn.Module) -> None:
    """Drop the oneDNN copies `packed_weight` keeps under `module` (before its weights change precision)."""
    for child in module.modules():
        child.__dict__.pop(PACKED_ATTRIBUTE, None)


def _onednn_linear(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, activation: Activation
) -> torch.Tensor:
    """One oneDNN inner product with the activation fused (but see `gelu_fused`); `weight` plain or packed."""
    if activation is Activation.GELU and not gelu_fused(x.dtype):
        return torch.ops.aten.gelu_(_onednn_linear(x, weight, bias, Activation.NONE))
    attr, algorithm, _ = activation.value
    return torch.ops.mkldnn._linear_pointwise(x, weight, bias, attr, [], algorithm)


@cache
def gelu_fused(dtype: torch.dtype) -> bool:
    """Whether a GELU after a oneDNN linear runs inside the GEMM (a post-op) rather than as PyTorch's own
    in-place pass over its output: everywhere except fp32 where torch's CPU kernels are AVX2 or below.

    On 2 real AVX2-only Zen 3 cores oneDNN's erf-GELU post-op cost more than the separate pass: 4096 x 384
    -> 1536 (Hiera's stage-3 MLP) 48-50 against 42-44 ms, 16384 x 192 -> 768 60-62 against 51-54 ms, and an
    fp32 set_image took 0.94-0.95x the time unfused in three of four runs of 20 alternating pairs (0.99x in
    the fourth). In bf16 the separate pass costs more than the GEMM saves (see docs/performance.md); fp32
    with AVX-512 was not measured unfused, so it keeps the post-op.
    """
    return dtype != torch.float32 or torch.backends.cpu.get_cpu_capability() not in X86_WITHOUT_AVX512


def _activate(y: torch.Tensor, activation: Activation) -> torch.Tensor:
    """The activation applied eagerly, after a linear that did not fuse it."""
    eager = activation.value[2]
    return y if eager is None else eager(y)
