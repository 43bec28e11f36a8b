"""CPU linears and attention through oneDNN (fused activation, weights packed once) equal their plain forms."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from anymask.sam2 import fast_ops
from anymask.sam2 import linear as linear_module
from anymask.sam2.config import get_config
from anymask.sam2.int8 import quantize_linears
from anymask.sam2.layers import MLP
from anymask.sam2.linear import Activation, linear, onednn_applies
from anymask.sam2.model import SAM2Model

pytestmark = pytest.mark.skipif(not onednn_applies(torch.ones(2048, 8), torch.ones(8, 8)), reason="no oneDNN here")


@pytest.mark.parametrize("activation", list(Activation))
def test_fused_linear_equals_linear_then_activation(activation):
    torch.manual_seed(0)
    layer = nn.Linear(96, 384)
    x = torch.randn(1, 40, 64, 96).permute(0, 2, 1, 3)  # channels-last view, not contiguous
    eager = {Activation.NONE: lambda y: y, Activation.GELU: F.gelu, Activation.RELU: F.relu}[activation]
    with torch.inference_mode():
        assert onednn_applies(x, layer.weight)
        out = linear(x, layer, activation)
        expected = eager(F.linear(x, layer.weight, layer.bias))
    assert out.shape == expected.shape == (1, 64, 40, 384)
    assert (out - expected).abs().max() < 1e-5


@pytest.mark.parametrize("fused", [True, False])
def test_gelu_in_the_gemm_or_after_it_gives_the_same_values(monkeypatch, fused):
    monkeypatch.setattr(linear_module, "gelu_fused", lambda dtype: fused)
    torch.manual_seed(0)
    layer, x = nn.Linear(96, 384), torch.randn(4096, 96)
    with torch.inference_mode():
        assert (linear(x, layer, Activation.GELU) - F.gelu(F.linear(x, layer.weight, layer.bias))).abs().max() < 1e-5


def test_gelu_runs_after_the_gemm_only_in_fp32_at_avx2_or_below(monkeypatch):
    try:
        for capability, fp32_fused in (("AVX2", False), ("DEFAULT", False), ("AVX512", True), ("ZVECTOR", True)):
            monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda c=capability: c)
            linear_module.gelu_fused.cache_clear()
            assert linear_module.gelu_fused(torch.float32) is fp32_fused, capability
            assert linear_module.gelu_fused(torch.bfloat16), capability
    finally:
        linear_module.gelu_fused.cache_clear()


def test_small_inputs_autograd_and_other_devices_keep_f_linear():
    layer = nn.Linear(8, 8)
    assert not onednn_applies(torch.ones(10, 8), layer.weight)  # the decoder's few prompt tokens
    x = torch.ones(4096, 8, requires_grad=True)
    assert not onednn_applies(x, layer.weight)  # autograd: oneDNN's op has no backward
    linear(x, layer, Activation.GELU).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with torch.inference_mode():
        assert onednn_applies(torch.ones(4096, 8), layer.weight)
        assert not onednn_applies(torch.ones(4096, 8, dtype=torch.float64), layer.weight.double())


def test_packed_weight_is_kept_until_the_weight_changes():
    """linear() runs an nn.Linear through oneDNN on a copy of its weight in oneDNN's layout, made once."""
    torch.manual_seed(3)
    layer = nn.Linear(64, 32)
    x = torch.randn(2048, 64)
    with torch.no_grad():
        first = linear(x, layer, Activation.RELU)
        packed = layer.__dict__[linear_module.PACKED_ATTRIBUTE][1]
        assert packed.is_mkldnn
        assert torch.equal(linear(x[:1500], layer, Activation.RELU), first[:1500])  # other row counts too
        assert layer.__dict__[linear_module.PACKED_ATTRIBUTE][1] is packed  # reused, not made again
        layer.weight.mul_(2)
        second = linear(x, layer)
    assert layer.__dict__[linear_module.PACKED_ATTRIBUTE][1] is not packed
    assert (first - F.relu(F.linear(x, layer.weight / 2, layer.bias))).abs().max() < 1e-5
    assert (second - F.linear(x, layer.weight, layer.bias)).abs().max() < 1e-5


def test_precision_change_drops_packed_weights():
    """set_precision frees the old precision's oneDNN copies instead of holding them until each layer runs."""
    model = SAM2Model(get_config("sam2.1-tiny")).eval()
    with torch.inference_mode():
        linear(torch.ones(1, 2048, 256), model.memory_attention.layers[0].linear1)
    assert linear_module.PACKED_ATTRIBUTE in model.memory_attention.layers[0].linear1.__dict__
    model.set_precision("fp32")
    assert not any(linear_module.PACKED_ATTRIBUTE in m.__dict__ for m in model.modules())


def test_int8_layers_keep_their_own_forward():
    torch.manual_seed(1)
    mlp = MLP(128, 512, 128, num_layers=2, activation=nn.GELU)
    x = torch.randn(2048, 128)
    with torch.inference_mode():
        float_out = mlp(x)
        assert all(linear_module.PACKED_ATTRIBUTE in layer.__dict__ for layer in mlp.layers)
        assert quantize_linears(mlp) == 2
        assert not any(linear_module.PACKED_ATTRIBUTE in layer.__dict__ for layer in mlp.layers)  # memory freed
        int8_out = mlp(x)
    assert not torch.equal(int8_out, float_out)  # the int8 GEMMs ran: their rounding shows
    assert (int8_out - float_out).abs().max() < 0.05 * float_out.abs().max()


def test_fp32_chunked_attention_through_onednn(monkeypatch):
    """fp32 attention with narrow values, in chunks, both products oneDNN inner products; a -inf bias
    hides padded keys per object."""
    monkeypatch.setattr(fast_ops, "ONEDNN_QUERY_CHUNK", 128)  # 300 queries: a last chunk of 44
    monkeypatch.setattr(fast_ops, "CHUNKED_ATTENTION_MIN_PAIRS", 10_000)
    monkeypatch.setattr(linear_module, "MIN_ROWS", 64)
    torch.manual_seed(2)
    q, k, v = torch.randn(2, 1, 300, 64), torch.randn(1, 1, 500, 64), torch.randn(1, 1, 500, 16)
    bias = torch.zeros(2, 1, 1, 500)
    bias[1, ..., 350:] = float("-inf")
    packed = []
    monkeypatch.setattr(
        fast_ops, "packed_operand", lambda t, rows: packed.append(rows) or linear_module.packed_operand(t, rows)
    )
    with torch.inference_mode():
        assert onednn_applies(q, q)
        out = fast_ops.attention(q, k, v)
        padded = fast_ops.attention(q, k, v, bias)
    expected = torch.softmax(q @ k.transpose(-1, -2) * 64**-0.5, dim=-1) @ v
    assert out.shape == padded.shape == (2, 1, 300, 16)
    assert (out - expected).abs().max() < 1e-5
    assert (padded[0] - expected[0]).abs().max() < 1e-5
    kept = torch.softmax(q[1] @ k[0, :, :350].transpose(-1, -2) * 64**-0.5, dim=-1) @ v[0, :, :350]
    assert (padded[1] - kept).abs().max() < 1e-5
    assert packed == [128] * 8  # keys and values reordered once per object and call, not per chunk
