"""Cross-attention between a few prompt tokens and many image tokens, without projecting the image tokens.

SAM's decoder projects 4096 image tokens to 128 channels for each cross-attention although only ~8 prompt
tokens sit on the other side. Folding the projection into the small side computes the same values with
half the multiply-adds:

* tokens -> image: scores = (q_h W_k,h) X^T (+ q_h b_k,h, the same for every image token of a row, which
  the softmax over image tokens cancels) and out_h = (P_h X) W_v,h^T + b_v,h (rows of P sum to 1)
* image -> tokens: scores = X (W_q,h^T k_h^T) + b_q,h k_h^T and out = sum_h P_h (v_h W_o,h^T) + b_o

Results equal the plain form up to float rounding (the fp32 parity tests check 1e-4 against the official model).
"""

from __future__ import annotations

import torch

from .attention import Attention
from .linear import inner_product, onednn_applies


def _heads(weight: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(internal, C) projection weight -> (heads, head_dim, C)."""
    return weight.view(num_heads, weight.shape[0] // num_heads, weight.shape[1])


def tokens_to_image(
    attn: Attention, queries: torch.Tensor, image_keys: torch.Tensor, image_values: torch.Tensor
) -> torch.Tensor:
    """attn(queries, image_keys, image_values) for few queries (B, T, C) and many image tokens (B|1, N, C)."""
    heads = attn.num_heads
    batch, count, _ = queries.shape
    q = attn.q_proj(queries).view(batch, count, heads, -1).transpose(1, 2)  # (B, H, T, d)
    scale = q.shape[-1] ** -0.5
    w_k = _heads(attn.k_proj.weight, heads)
    q_w = torch.einsum("bhtd,hdc->bhtc", q * scale, w_k).reshape(batch, heads * count, -1)
    if image_keys.shape[0] == 1 and q_w.dtype == torch.float32 and onednn_applies(q_w, image_keys, min_rows=1):
        # fp32 on the CPU: one oneDNN inner product for every object's rows (0.75 against 1.02 ms for `bmm`
        # with 64 rows x 4096 image tokens x 256 held to AVX2, 2 Zen 5 cores)
        scores = inner_product(q_w.reshape(-1, q_w.shape[-1]), image_keys[0]).view(batch, heads * count, -1)
    else:
        scores = torch.bmm(q_w, image_keys.expand(batch, -1, -1).transpose(1, 2))  # (B, H*T, N), key bias cancelled
    weighted = torch.bmm(torch.softmax(scores, dim=-1), image_values.expand(batch, -1, -1))  # (B, H*T, C)
    w_v = _heads(attn.v_proj.weight, heads)
    out = torch.einsum("bhtc,hdc->bthd", weighted.view(batch, heads, count, -1), w_v)
    out = out.reshape(batch, count, -1) + attn.v_proj.bias
    return attn.out_proj(out)


def image_to_tokens(
    attn: Attention,
    image_queries: torch.Tensor,
    tokens_k: torch.Tensor,
    tokens_v: torch.Tensor,
    projected_queries: torch.Tensor | None = None,
    residual: torch.Tensor | None = None,
) -> torch.Tensor:
    """residual + attn(image_queries, tokens_k, tokens_v) for many image queries (B|1, N, C), few tokens (B, T, C).

    `projected_queries` (q_proj of the image queries, when already cached) replaces the folded form. The
    residual is added inside the final GEMM (a separate bf16 add there costs more than the GEMM).
    """
    heads = attn.num_heads
    batch, count, _ = tokens_k.shape
    k = attn.k_proj(tokens_k).view(batch, count, heads, -1).transpose(1, 2)  # (B, H, T, d)
    v = attn.v_proj(tokens_v).view(batch, count, heads, -1).transpose(1, 2)
    scale = k.shape[-1] ** -0.5
    # scores are built transposed, (B, H*T, N): the softmax then runs over the T axis of (B, H, T, N),
    # which PyTorch vectorises along N; a softmax over a last axis of T ~ 8 is several times slower
    if projected_queries is None:
        w_q = _heads(attn.q_proj.weight, heads)
        folded_t = torch.einsum("hdc,bhtd->bhtc", w_q, k * scale).reshape(batch, heads * count, -1)
        bias = torch.einsum("hd,bhtd->bht", attn.q_proj.bias.view(heads, -1), k * scale).reshape(batch, -1, 1)
        scores_t = torch.baddbmm(bias, folded_t, image_queries.expand(batch, -1, -1).transpose(1, 2))
    else:
        per_head = projected_queries.expand(batch, -1, -1).view(batch, -1, heads, k.shape[-1]).permute(0, 2, 3, 1)
        scores_t = torch.matmul(k * scale, per_head).reshape(batch, heads * count, -1)  # (B, H*T, N)
    tokens = scores_t.shape[-1]
    probs_t = torch.softmax(scores_t.view(batch, heads, count, tokens), dim=2).view(batch, heads * count, tokens)
    w_o = attn.out_proj.weight.view(attn.out_proj.weight.shape[0], heads, -1)  # (C, H, d)
    values_out = torch.einsum("bhtd,chd->bhtc", v, w_o).reshape(batch, heads * count, -1)
    # each head's probabilities sum to 1, so adding b/H to every value row adds exactly the output bias b
    values_out = values_out + attn.out_proj.bias / heads
    base = (
        residual.expand(batch, -1, -1)
        if residual is not None
        else values_out.new_zeros(1, 1, 1).expand(batch, tokens, values_out.shape[-1])
    )
    return torch.baddbmm(base, probs_t.transpose(1, 2), values_out)
