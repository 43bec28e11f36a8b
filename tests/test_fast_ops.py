"""The CPU attention forms (bf16 in query chunks, fp32 through oneDNN) equal plain softmax attention in fp32."""

from __future__ import annotations

import pytest
import torch

from anymask.sam2 import fast_ops


def reference(q, k, v, bias=None):
    scores = q.float() @ k.float().transpose(-1, -2) * q.shape[-1] ** -0.5
    if bias is not None:
        scores = scores + bias.float()
    return torch.softmax(scores, dim=-1) @ v.float()


def head_strided(batch, tokens, heads, dim):
    """Hiera's layout: (B, N, 3, H, D) split into (B, H, N, D) views with heads interleaved in memory."""
    q, k, v = torch.unbind(torch.randn(batch, tokens, 3, heads, dim).bfloat16(), 2)
    return q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of 128 queries and the chunked path from 10k query x key pairs, so small tensors exercise it."""
    monkeypatch.setattr(fast_ops, "ATTENTION_QUERY_CHUNK", 128)
    monkeypatch.setattr(fast_ops, "CHUNKED_ATTENTION_MIN_PAIRS", 10_000)


@pytest.mark.parametrize(
    "shapes",
    [
        ((1, 1, 300, 64), (1, 1, 500, 64), (1, 1, 500, 16)),  # a last chunk of 44 queries
        ((3, 1, 256, 64), (1, 1, 400, 64), (1, 1, 400, 16)),  # objects sharing one memory (expanded keys)
        ((2, 4, 200, 32), (2, 4, 200, 32), (2, 4, 200, 32)),  # several heads
    ],
)
def test_chunked_bf16_attention_equals_reference(small_chunks, shapes):
    torch.manual_seed(0)
    q, k, v = (torch.randn(*shape).bfloat16() for shape in shapes)
    out = fast_ops.attention(q, k, v)
    assert out.shape == (*q.shape[:-1], v.shape[-1]) and out.dtype == torch.bfloat16
    assert (out.float() - reference(q, k, v)).abs().max() < 2e-2


def test_chunked_bf16_attention_with_head_strided_inputs(small_chunks):
    torch.manual_seed(1)
    q, k, v = head_strided(1, 300, 4, 32)
    assert (fast_ops.attention(q, k, v).float() - reference(q, k, v)).abs().max() < 2e-2


def test_padded_keys_get_no_weight(small_chunks):
    """A -inf bias hides keys: the result equals attention over the other keys only, per object."""
    torch.manual_seed(2)
    q, k, v = (torch.randn(*shape).bfloat16() for shape in ((2, 1, 260, 64), (2, 1, 300, 64), (2, 1, 300, 8)))
    bias = torch.zeros(2, 1, 1, 300)
    bias[0, ..., 200:] = float("-inf")
    bias[1, ..., 100:] = float("-inf")
    out = fast_ops.attention(q, k, v, bias.bfloat16()).float()
    for index, kept in ((0, 200), (1, 100)):
        expected = reference(q[index], k[index, :, :kept], v[index, :, :kept])
        assert (out[index] - expected).abs().max() < 2e-2


def test_fp32_memory_cross_attention_folds_values_within_rounding(small_chunks, monkeypatch):
    """On the CPU, fp32 memory attention attends to the 64-wide memories and projects after (W_o W_v folded,
    chunked matmuls); the result equals the official form (project values, flash attention) to rounding."""
    from anymask.sam2.attention import RoPEAttention

    torch.manual_seed(3)
    layer = RoPEAttention(256, num_heads=1, repeat_keys=True, kv_in_dim=64).eval()
    queries, memory = torch.randn(1, 64, 256), torch.randn(1, 3 * 64 + 8, 64)
    with torch.inference_mode():
        assert layer._folds_values(queries)
        folded = layer(queries, memory, memory, num_k_exclude_rope=8)
        monkeypatch.setattr(RoPEAttention, "_folds_values", lambda self, q: False)
        plain = layer(queries, memory, memory, num_k_exclude_rope=8)
    assert (folded - plain).abs().max() < 1e-5


@pytest.mark.parametrize("faster", [True, False])
def test_fp32_attention_takes_onednn_where_it_is_faster(small_chunks, monkeypatch, faster):
    """Equal-width fp32 attention (Hiera's global blocks, memory self-attention) runs as chunked oneDNN
    products where they beat the flash kernel (AVX-512), and as the flash kernel elsewhere; same result."""
    from anymask.sam2.linear import onednn_applies

    torch.manual_seed(4)
    q, k, v = torch.unbind(torch.randn(1, 1100, 3, 2, 32), 2)  # head-strided, a last chunk of 76 queries
    q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
    if not onednn_applies(q, q):
        pytest.skip("this PyTorch build has no oneDNN inner product")
    calls = []
    onednn = fast_ops._chunked_attention_onednn
    monkeypatch.setattr(fast_ops, "_chunked_attention_onednn", lambda *a: calls.append(1) or onednn(*a))
    monkeypatch.setattr(fast_ops, "onednn_attention_is_faster", lambda: faster)
    with torch.inference_mode():
        out = fast_ops.attention(q, k, v)
    assert bool(calls) == faster
    assert (out - reference(q, k, v)).abs().max() < 1e-5


@pytest.mark.parametrize(
    ("capability", "vendor", "faster"),
    [
        ("AVX512", "AuthenticAMD", True),  # MKL keeps to AVX2 code on AMD, oneDNN uses AVX-512
        ("AVX512", "GenuineIntel", False),  # MKL uses AVX-512 there: not measured, the flash kernel stays
        ("AVX2", "AuthenticAMD", False),
        ("DEFAULT", "", False),
    ],
)
def test_onednn_attention_is_chosen_by_the_cpu(monkeypatch, capability, vendor, faster):
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    monkeypatch.setattr(fast_ops, "cpu_vendor", lambda: vendor)
    fast_ops.onednn_attention_is_faster.cache_clear()
    try:
        assert fast_ops.onednn_attention_is_faster() is faster
    finally:
        fast_ops.onednn_attention_is_faster.cache_clear()


def test_cpu_vendor_is_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\ncpu family\t: 26\n\nvendor_id\t: AuthenticAMD\n")
    assert fast_ops.read_cpu_vendor(str(cpuinfo)) == "AuthenticAMD"
    cpuinfo.write_text("processor\t: 0\nCPU implementer\t: 0x41\n")  # ARM: no vendor_id line
    assert fast_ops.read_cpu_vendor(str(cpuinfo)) == ""
    assert fast_ops.read_cpu_vendor(str(tmp_path / "missing")) == ""


@pytest.mark.parametrize("onednn", [True, False])
def test_deconv_as_one_product_equals_conv_transpose(monkeypatch, onednn):
    """`addend + deconv(x)` in the un-shuffled layout (fp32: a oneDNN product then the add; else one baddbmm)
    equals ConvTranspose2d followed by the pixel layout, for 2 objects sharing a skip."""
    if not onednn:
        monkeypatch.setattr(fast_ops, "onednn_applies", lambda *args, **kwargs: False)
    torch.manual_seed(5)
    deconv = torch.nn.ConvTranspose2d(64, 16, kernel_size=2, stride=2).eval()
    x, skip = torch.randn(2, 32, 40, 64), torch.randn(1, 64, 80, 16)
    with torch.inference_mode():
        out = fast_ops.deconv2x2_unshuffled(x, deconv, fast_ops.deconv_addend(fast_ops.unshuffle_once(skip), deconv))
        expected = deconv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1) + skip
    assert out.shape == (2, 32, 40, 2, 2, 16)
    shuffled = out.permute(0, 1, 3, 2, 4, 5).reshape(2, 64, 80, 16)
    assert (shuffled - expected).abs().max() < 1e-5
