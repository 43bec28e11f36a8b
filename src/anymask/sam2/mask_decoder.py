"""Mask decoder: output tokens through the two-way transformer into masks, IoU and object scores."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .fast_ops import (
    deconv2x2_unshuffled,
    deconv_addend,
    nhwc_view,
    shuffle_twice_to_nchw,
    unshuffle_once,
    unshuffle_twice,
)
from .layers import MLP, LayerNorm2d
from .two_way_transformer import FirstLayerKeys, TwoWayTransformer


@dataclass
class DecoderImage:
    """One image laid out for the decoder: tokens (1, HW, C), positions, channels-last skips, first-layer cache."""

    tokens: torch.Tensor
    size: tuple[int, int]
    pe_tokens: torch.Tensor
    high_res: tuple[torch.Tensor, torch.Tensor]  # (1, 64, 64, 2, 2, 2, 2, 32), (1, 64, 64, 2, 2, 64); + deconv bias
    first_layer: FirstLayerKeys | None = None


@dataclass
class DecoderOutput:
    """Low-res (256x256) mask logits, predicted IoU, the chosen SAM output token and the object score."""

    mask_logits: torch.Tensor  # (B, M, 256, 256)
    iou: torch.Tensor  # (B, M)
    output_tokens: torch.Tensor  # (B, 1 or 3, C)
    object_score_logits: torch.Tensor  # (B, 1)


class MaskDecoder(nn.Module):
    """SAM 2's mask decoder with high-resolution skips, an IoU head and an occlusion (object score) head."""

    def __init__(
        self,
        dim: int = 256,
        num_multimask_outputs: int = 3,
        dynamic_multimask_via_stability: bool = True,
        stability_delta: float = 0.05,
        stability_thresh: float = 0.98,
    ) -> None:
        super().__init__()
        self.transformer = TwoWayTransformer(depth=2, dim=dim, num_heads=8, mlp_dim=2048)
        self.num_mask_tokens = num_multimask_outputs + 1
        self.iou_token = nn.Embedding(1, dim)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, dim)
        self.obj_score_token = nn.Embedding(1, dim)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(dim, dim // 4, kernel_size=2, stride=2),
            LayerNorm2d(dim // 4),
            nn.GELU(),
            nn.ConvTranspose2d(dim // 4, dim // 8, kernel_size=2, stride=2),
            nn.GELU(),
        )
        self.conv_s0 = nn.Conv2d(dim, dim // 8, kernel_size=1)
        self.conv_s1 = nn.Conv2d(dim, dim // 4, kernel_size=1)
        self.output_hypernetworks_mlps = nn.ModuleList(MLP(dim, dim, dim // 8, 3) for _ in range(self.num_mask_tokens))
        self.iou_prediction_head = MLP(dim, 256, self.num_mask_tokens, 3, sigmoid_output=True)
        self.pred_obj_score_head = MLP(dim, dim, 1, 3)
        self.dynamic_multimask_via_stability = dynamic_multimask_via_stability
        self.stability_delta = stability_delta
        self.stability_thresh = stability_thresh

    def prepare(
        self, image_embedding: torch.Tensor, image_pe: torch.Tensor, high_res: tuple[torch.Tensor, torch.Tensor]
    ) -> DecoderImage:
        """Lay one image's features out for decoding, in the decoder's dtype (see DecoderImage)."""
        dtype = self.iou_token.weight.dtype
        batch, channels, height, width = image_embedding.shape
        # contiguous once here: elementwise ops on transposed views cost ~10x more on every click
        tokens = image_embedding.to(dtype).flatten(2).transpose(1, 2).contiguous()
        pe_tokens = image_pe.to(dtype).flatten(2).transpose(1, 2).contiguous()
        # skips laid out like the un-shuffled upscaling output, bias included (see deconv2x2_unshuffled)
        deconv1, _, _, deconv2, _ = self.output_upscaling
        skips = (
            deconv_addend(unshuffle_twice(nhwc_view(high_res[0].to(dtype))), deconv2),
            deconv_addend(unshuffle_once(nhwc_view(high_res[1].to(dtype))), deconv1),
        )
        return DecoderImage(tokens, (height, width), pe_tokens, skips)  # type: ignore[arg-type]

    def first_layer_keys(self, image: DecoderImage, no_mask_embed: torch.Tensor) -> FirstLayerKeys:
        """The prompt-independent projections of the first block for a prompt without a mask (cached)."""
        if image.first_layer is None:
            keys = image.tokens + no_mask_embed.to(image.tokens.dtype).view(1, 1, -1)
            image.first_layer = self.transformer.layers[0].image_projections(keys, image.pe_tokens)
        return image.first_layer

    def forward(
        self,
        image: DecoderImage,
        sparse_prompt: torch.Tensor,
        dense_prompt: torch.Tensor | None,
        multimask_output: bool,
        no_mask_embed: torch.Tensor | None = None,
        use_multimask_token_for_obj_ptr: bool = True,
    ) -> DecoderOutput:
        """Decode prompts against a prepared image. `dense_prompt` None means "no mask prompt" (cached path)."""
        # multimask output never shows the single-mask token's mask: it is not computed
        first_mask = 1 if multimask_output else 0
        masks, iou, mask_tokens_out, object_score = self.predict_masks(
            image, sparse_prompt, dense_prompt, no_mask_embed, first_mask
        )
        if multimask_output:
            iou = iou[:, 1:]
        elif self.dynamic_multimask_via_stability and not self.training:
            masks, iou = self.select_stable(masks, iou)
        else:
            masks, iou = masks[:, 0:1], iou[:, 0:1]
        if multimask_output and use_multimask_token_for_obj_ptr:
            tokens = mask_tokens_out[:, 1:]
        else:
            tokens = mask_tokens_out[:, 0:1]
        return DecoderOutput(masks, iou, tokens, object_score)

    def predict_masks(
        self,
        image: DecoderImage,
        sparse_prompt: torch.Tensor,
        dense_prompt: torch.Tensor | None,
        no_mask_embed: torch.Tensor | None,
        first_mask: int = 0,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Masks of the mask tokens from `first_mask` on (1: the three multimask outputs only; each mask
        costs ~0.4 ms of a ~23 ms click on AVX2), IoU predictions and output tokens of all, object score."""
        dtype = self.iou_token.weight.dtype
        sparse_prompt = sparse_prompt.to(dtype)
        batch = sparse_prompt.shape[0]
        output_tokens = torch.cat([self.obj_score_token.weight, self.iou_token.weight, self.mask_tokens.weight], dim=0)
        tokens = torch.cat((output_tokens.unsqueeze(0).expand(batch, -1, -1), sparse_prompt), dim=1)
        if dense_prompt is None:
            first_layer = self.first_layer_keys(image, no_mask_embed)
            image_tokens = first_layer.keys
        else:
            first_layer = None
            image_tokens = image.tokens + dense_prompt.to(dtype).flatten(2).transpose(1, 2)

        hs, image_tokens = self.transformer(image_tokens, image.pe_tokens, tokens, first_layer)
        iou_token_out = hs[:, 1, :]
        mask_tokens_out = hs[:, 2 : 2 + self.num_mask_tokens, :]

        height, width = image.size
        src = image_tokens.reshape(image_tokens.shape[0], height, width, -1)
        deconv1, norm1, act1, deconv2, act2 = self.output_upscaling
        feat_s0, feat_s1 = image.high_res
        upscaled = deconv2x2_unshuffled(src, deconv1, feat_s1)
        upscaled = act1(F.layer_norm(upscaled, (upscaled.shape[-1],), norm1.weight, norm1.bias, norm1.eps))
        upscaled = act2(deconv2x2_unshuffled(upscaled, deconv2, feat_s0))

        mlps = self.output_hypernetworks_mlps
        hyper_in = torch.stack([mlps[i](mask_tokens_out[:, i, :]) for i in range(first_mask, len(mlps))], dim=1)
        # per-pixel dot products in the un-shuffled layout, then reorder only the few mask channels
        pixels = upscaled.reshape(upscaled.shape[0], -1, upscaled.shape[-1])
        masks = torch.matmul(pixels, hyper_in.transpose(1, 2)).view(*upscaled.shape[:-1], -1)
        masks = shuffle_twice_to_nchw(masks)
        iou = self.iou_prediction_head(iou_token_out)
        object_score = self.pred_obj_score_head(hs[:, 0, :])
        return masks.float(), iou.float(), mask_tokens_out.float(), object_score.float()

    def stability_scores(self, mask_logits: torch.Tensor) -> torch.Tensor:
        """IoU between the masks thresholded at +delta and -delta."""
        flat = mask_logits.flatten(-2)
        inner = torch.sum(flat > self.stability_delta, dim=-1).float()
        outer = torch.sum(flat > -self.stability_delta, dim=-1).float()
        return torch.where(outer > 0, inner / outer, 1.0)

    def select_stable(self, masks: torch.Tensor, iou: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Single-mask output, falling back to the best multimask output when token 0 is unstable."""
        multi_masks, multi_iou = masks[:, 1:], iou[:, 1:]
        best = torch.argmax(multi_iou, dim=-1)
        rows = torch.arange(multi_iou.shape[0], device=iou.device)
        best_masks = multi_masks[rows, best].unsqueeze(1)
        best_iou = multi_iou[rows, best].unsqueeze(1)
        single_masks, single_iou = masks[:, 0:1], iou[:, 0:1]
        stable = self.stability_scores(single_masks) >= self.stability_thresh
        out_masks = torch.where(stable[..., None, None].expand_as(single_masks), single_masks, best_masks)
        out_iou = torch.where(stable.expand_as(single_iou), single_iou, best_iou)
        return out_masks, out_iou
