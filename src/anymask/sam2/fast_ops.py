"""CPU-friendly forms of a few operations: chunked bf16 attention, 1x1 and 2x2-stride-2 convs as matmuls."""

from __future__ import annotations

from functools import cache

import torch
import torch.nn.functional as F
from torch import nn

from .linear import inner_product, linear_weights, onednn_applies, packed_operand

# Above this many query x key pairs per head, CPU attention in bf16 (and in fp32 with narrow values) is
# computed in query chunks (see attention()).
CHUNKED_ATTENTION_MIN_PAIRS = 1 << 22
ATTENTION_QUERY_CHUNK = 512
# fp32 through oneDNN (_chunked_attention_onednn): each chunk's scores are a fresh block. 256 queries x 28 712
# keys is 29 MB, under glibc's 32 MB mmap ceiling, so freed blocks are reused; 59 MB blocks of 512 queries
# were mapped and page-faulted in again every chunk (3.5% slower per tracked frame than MKL, held to AVX2).
ONEDNN_QUERY_CHUNK = 256
# bf16 attention with at most this many queries and keys (Hiera's windows; also the decoder's prompt tokens
# attending to each other) runs as explicit matmuls over contiguous q, k and v (see _window_attention)
WINDOW_TOKENS = 256


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Softmax attention over (..., N, D) tensors; `bias` (B, 1, 1, N_keys), if given, is added to the scores
    (-inf hides a padded key: see tracking/static_step.py).

    PyTorch's CPU flash kernel computes in fp32 even for bf16 inputs. For bf16 on the CPU, explicit
    matmuls are faster: in query chunks for long sequences (see `_chunked_attention`; 47 vs 135 ms for
    4x4096x4096x96 on 2 cores), in one go when one side is short (the decoder's prompt tokens: 0.9 vs
    1.3 ms), and within Hiera's small windows (`_window_attention`). fp32 on the CPU uses them for long
    sequences with narrow (folded) values, and scaled_dot_product_attention otherwise, as do other devices.
    """
    if q.device.type != "cpu" or q.dtype not in (torch.bfloat16, torch.float32):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    if q.dtype == torch.float32:
        if q.shape[-2] * k.shape[-2] >= CHUNKED_ATTENTION_MIN_PAIRS and (
            v.shape[-1] < q.shape[-1] or (onednn_applies(q, q) and onednn_attention_is_faster())
        ):
            # folded values (memory attention): the flash kernel has no fast path for values narrower
            # than keys (928 ms for 4096 x 28 712 keys x 256 with 64-wide values, 679 ms with 256-wide);
            # chunked matmuls take 543 ms on 2 Zen 5 cores (514 against 624 held to AVX2)
            return _chunked_attention(q, k, v, bias)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    if bias is not None:
        return _chunked_attention(q, k, v, bias)
    scale = q.shape[-1] ** -0.5
    if k.shape[-2] <= 64 and q.shape[-2] > WINDOW_TOKENS:
        # few keys (image tokens attending to prompt tokens): softmax over a short last axis is slow,
        # so take scores transposed and normalise along dim -2 (0.2 vs 0.9 ms for 8x4096x8)
        scores_t = torch.matmul(k, (q * scale).transpose(-1, -2))
        return torch.matmul(torch.softmax(scores_t, dim=-2).transpose(-1, -2), v)
    if q.shape[-2] <= WINDOW_TOKENS and k.shape[-2] <= WINDOW_TOKENS:
        return _window_attention(q, k, v)
    if q.shape[-2] <= 64:
        scores = torch.matmul(q * scale, k.transpose(-1, -2))
        return torch.matmul(torch.softmax(scores, dim=-1), v)
    if q.shape[-2] * k.shape[-2] < CHUNKED_ATTENTION_MIN_PAIRS:
        return F.scaled_dot_product_attention(q, k, v)
    return _chunked_attention(q, k, v, None)


def _window_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """bf16 attention within small windows (Hiera's), as two batched matmuls over contiguous inputs.

    Hiera hands over head-strided views of its qkv output; each matmul copied them on its own, and the
    flash kernel (stage 3's 14x14 windows) was slower still. On 2 Zen 4 cores (AVX512_BF16): stage 3's
    windows 12.2 -> 7.0 ms, the first stage-2 block's 16 queries x 64 keys 16.3 -> 12.0 ms; set_image
    0.966-0.982x the time (three runs, old and new alternating in one process).
    """
    q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
    scores = torch.matmul(q * q.shape[-1] ** -0.5, k.transpose(-1, -2))
    return torch.matmul(torch.softmax(scores, dim=-1), v)


@cache
def onednn_attention_is_faster() -> bool:
    """Whether fp32 attention of equal key and value widths runs faster as oneDNN inner products than in
    PyTorch's flash kernel: on AMD CPUs where PyTorch's kernels use AVX-512 (torch's CPU capability says so).

    The flash kernel's products are MKL's sgemm, which keeps to its AVX2 code on AMD CPUs, while oneDNN
    uses AVX-512 (see linear.py). On 2 Zen 5 cores with AVX-512: Hiera's global attention (4 heads x 4096 x
    4096 x 96) 99 against 145 ms, memory attention's self-attention (4096 x 4096 x 256) 51 against 93 ms.
    Held to AVX2 the flash kernel wins or ties (146 against 170 ms, 88 against 85 ms), so there it stays.
    On Intel CPUs MKL uses AVX-512 too; not measured, so they keep the flash kernel.
    """
    return torch.backends.cpu.get_cpu_capability().startswith("AVX512") and cpu_vendor() == "AuthenticAMD"


@cache
def cpu_vendor() -> str:
    """The CPU's vendor string (GenuineIntel, AuthenticAMD, ...) from /proc/cpuinfo; "" where unknown."""
    return read_cpu_vendor("/proc/cpuinfo")


def read_cpu_vendor(cpuinfo_path: str) -> str:
    """The first `vendor_id` value in a /proc/cpuinfo-style file; "" if it has none or cannot be read."""
    try:
        with open(cpuinfo_path, encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("vendor_id"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return ""


def _chunked_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Attention on the CPU for (B, H, N, D) tensors, in chunks of ATTENTION_QUERY_CHUNK queries.

    One score buffer serves every chunk and object: scores are written into it by the matmul, turned
    into probabilities in place, then multiplied by the values straight into the output. A fresh score
    block per chunk cost more than the softmax (each one page-faulted in): with this layout SAM 2's bf16
    memory cross-attention (4096 x 28712 keys) takes 129 instead of 165 ms on 2 Zen 5 cores. Objects of a
    batch run one at a time so each score block stays in cache (a batched bmm over 4 objects took 4.9 s
    where 4 single ones took 4.1 s). Keys are read transposed in place (no slower than a transposed
    copy); head-strided inputs (Hiera's) are made contiguous once per object, not copied by every chunk's
    matmul, and queries shared by the objects (an expanded batch) are scaled per object, not copied B times.
    """
    batch, heads, queries, _ = q.shape
    k, v = k.expand(batch, heads, *k.shape[2:]), v.expand(batch, heads, *v.shape[2:])
    if q.dtype == torch.float32 and onednn_applies(q, q):
        return _chunked_attention_onednn(q, k, v, bias)
    keys = k.shape[-2]
    chunk = min(ATTENTION_QUERY_CHUNK, queries)
    buffer = torch.empty(heads * chunk * keys, dtype=q.dtype, device=q.device)
    out = torch.empty(batch, heads, queries, v.shape[-1], dtype=q.dtype, device=q.device)
    scaled = torch.empty(q.shape[1:], dtype=q.dtype, device=q.device)
    for b in range(batch):
        torch.mul(q[b], q.shape[-1] ** -0.5, out=scaled)
        keys_t, values = k[b].contiguous().transpose(-1, -2), v[b].contiguous()  # copies only head-strided views
        for start in range(0, queries, chunk):
            rows = min(chunk, queries - start)
            scores = buffer[: heads * rows * keys].view(heads, rows, keys)
            torch.bmm(scaled[:, start : start + rows], keys_t, out=scores)
            if bias is not None:
                scores.add_(bias[b])
            torch._softmax(scores, -1, False, out=scores)  # in place: each row is read before it is written
            torch.bmm(scores, values, out=out[b, :, start : start + rows])
    return out


def _chunked_attention_onednn(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: torch.Tensor | None):
    """`_chunked_attention` in fp32 with both products as oneDNN inner products, per head and chunk.

    Held to AVX2 on 2 Zen 5 cores, oneDNN ran the query-key product (256 x 256 x 28 712) at 209 GFLOP/s
    where MKL reached 151, and the value product (512 x 28 712 x 64) at 210 against 153; with AVX-512 the
    value product ran at 393 against 152. Its scores come in a fresh block per chunk (no `out=`;
    see ONEDNN_QUERY_CHUNK). A tracked sam2.1-tiny frame took 0.97x the time of MKL into the reused buffer
    held to AVX2 and 0.79x with AVX-512 (old and new alternating frame by frame, 2 Zen 5 cores).
    Keys and values are reordered into oneDNN's blocked layout once per head (`packed_operand`); given
    plain, every chunk's call reordered all 28 712 keys again (29 MB). Memory cross-attention 366-370
    against 388-418 ms held to AVX2; a tracked frame 0.97x the time held to AVX2, 0.99x with AVX-512.
    """
    batch, heads, queries, _ = q.shape
    chunk = min(ONEDNN_QUERY_CHUNK, queries)
    out = torch.empty(batch, heads, queries, v.shape[-1], dtype=q.dtype, device=q.device)
    for b in range(batch):
        scaled = q[b] * q.shape[-1] ** -0.5
        keys, values_t = k[b].contiguous(), v[b].transpose(-1, -2).contiguous()  # (heads, N, D), (heads, D, N)
        for head in range(heads):
            head_keys, head_values = keys[head], values_t[head]
            if queries > chunk:  # reordered once, not by every chunk's call
                head_keys, head_values = packed_operand(head_keys, chunk), packed_operand(head_values, chunk)
            for start in range(0, queries, chunk):
                scores = inner_product(scaled[head, start : start + chunk], head_keys)
                if bias is not None:
                    scores.add_(bias[b, 0])
                torch._softmax(scores, -1, False, out=scores)
                out[b, head, start : start + chunk] = inner_product(scores, head_values)
    return out


def conv1x1_channels_last(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """A 1x1 convolution applied to a (B, H, W, C) tensor as one matmul in x's dtype; returns (B, H, W, C_out)."""
    weight, bias = conv.weight.flatten(1), conv.bias
    if weight.dtype != x.dtype:
        weight, bias = weight.to(x.dtype), bias.to(x.dtype)
    return linear_weights(x, weight, bias)


def deconv2x2_matrix(deconv: nn.ConvTranspose2d) -> torch.Tensor:
    """(C_in, 4 * C_out) matrix of a kernel-2 stride-2 transposed conv; column (dy, dx, c) is sub-pixel (dy, dx)."""
    weight = deconv.weight  # (C_in, C_out, 2, 2)
    return weight.permute(0, 2, 3, 1).reshape(weight.shape[0], 4 * weight.shape[1])


def deconv2x2_unshuffled(x: torch.Tensor, deconv: nn.ConvTranspose2d, addend: torch.Tensor) -> torch.Tensor:
    """`addend + deconv(x)` for a kernel-2 stride-2 transposed conv, as one fused matmul, without pixel shuffle.

    x (B, ..., C_in) -> (B, ..., 2, 2, C_out): output sub-pixel (dy, dx) of each input pixel stays next to it.
    `addend` (1 or B, ..., 2, 2, C_out) must already include the conv bias (see `deconv_addend`). Fusing the
    add into the GEMM matters in bf16, where a separate add after the matmul costs more than the matmul.
    """
    batch = x.shape[0]
    out_channels = deconv.weight.shape[1]
    rows = x.reshape(batch, -1, x.shape[-1])
    addend = addend.reshape(addend.shape[0], rows.shape[1], -1)
    if x.dtype == torch.float32 and onednn_applies(x, deconv.weight):
        # fp32 on the CPU: a oneDNN inner product, then the add (2.76 -> 1.32 ms for 4096 x 256 -> 256 with
        # AVX-512, 3.14 -> 3.01 ms held to AVX2, 2 Zen 5 cores)
        weight = deconv2x2_matrix(deconv).t()  # (4 * C_out, C_in), rows (dy, dx, c)
        y = inner_product(rows.reshape(-1, rows.shape[-1]), weight).view(batch, rows.shape[1], -1).add_(addend)
    else:
        y = torch.baddbmm(addend, rows, deconv2x2_matrix(deconv).expand(batch, -1, -1))
    return y.view(*x.shape[:-1], 2, 2, out_channels)


def deconv_addend(skip: torch.Tensor, deconv: nn.ConvTranspose2d) -> torch.Tensor:
    """A skip connection in un-shuffled layout plus the conv bias, ready for `deconv2x2_unshuffled`."""
    return skip + deconv.bias


def unshuffle_twice(x: torch.Tensor) -> torch.Tensor:
    """(B, 4H, 4W, C) -> (B, H, W, 2, 2, 2, 2, C): the layout two `deconv2x2_unshuffled` produce."""
    batch, height, width, channels = x.shape
    x = x.view(batch, height // 4, 2, 2, width // 4, 2, 2, channels)
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).contiguous()


def unshuffle_once(x: torch.Tensor) -> torch.Tensor:
    """(B, 2H, 2W, C) -> (B, H, W, 2, 2, C)."""
    batch, height, width, channels = x.shape
    x = x.view(batch, height // 2, 2, width // 2, 2, channels)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous()


def shuffle_twice_to_nchw(x: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 2, 2, 2, 2, M) -> (B, M, 4H, 4W), inverse of `unshuffle_twice` plus NHWC -> NCHW."""
    batch, height, width = x.shape[:3]
    channels = x.shape[-1]
    x = x.permute(0, 7, 1, 3, 5, 2, 4, 6)
    return x.reshape(batch, channels, 4 * height, 4 * width)


def nchw_view(x: torch.Tensor) -> torch.Tensor:
    """(B, H, W, C) memory seen as an NCHW tensor (channels-last strides), without copying."""
    return x.permute(0, 3, 1, 2)


def nhwc_view(x: torch.Tensor) -> torch.Tensor:
    """Inverse of `nchw_view` (a copy only if x is not channels-last in memory)."""
    return x.permute(0, 2, 3, 1)
