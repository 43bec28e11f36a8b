"""Mask decoder: output tokens through the two-way transformer into masks, IoU and object scores."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .layers import MLP, LayerNorm2d
from .two_way_transformer import TwoWayTransformer


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
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(dim, dim, dim // 8, 3) for _ in range(self.num_mask_tokens)
        )
        self.iou_prediction_head = MLP(dim, 256, self.num_mask_tokens, 3, sigmoid_output=True)
        self.pred_obj_score_head = MLP(dim, dim, 1, 3)
        self.dynamic_multimask_via_stability = dynamic_multimask_via_stability
        self.stability_delta = stability_delta
        self.stability_thresh = stability_thresh

    def project_high_res(self, stride4: torch.Tensor, stride8: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Project the stride-4 and stride-8 backbone maps once per image (not per click)."""
        return self.conv_s0(stride4), self.conv_s1(stride8)

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt: torch.Tensor,
        dense_prompt: torch.Tensor,
        high_res_features: tuple[torch.Tensor, torch.Tensor],
        multimask_output: bool,
        use_multimask_token_for_obj_ptr: bool = True,
    ) -> DecoderOutput:
        masks, iou, mask_tokens_out, object_score = self.predict_masks(
            image_embeddings, image_pe, sparse_prompt, dense_prompt, high_res_features
        )
        if multimask_output:
            masks, iou = masks[:, 1:], iou[:, 1:]
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
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt: torch.Tensor,
        dense_prompt: torch.Tensor,
        high_res_features: tuple[torch.Tensor, torch.Tensor],
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        batch = sparse_prompt.shape[0]
        output_tokens = torch.cat([self.obj_score_token.weight, self.iou_token.weight, self.mask_tokens.weight], dim=0)
        tokens = torch.cat((output_tokens.unsqueeze(0).expand(batch, -1, -1), sparse_prompt), dim=1)
        if image_embeddings.shape[0] != batch:
            image_embeddings = image_embeddings.expand(batch, -1, -1, -1)
        src = image_embeddings + dense_prompt
        pos_src = image_pe.expand(batch, -1, -1, -1)
        _, channels, height, width = src.shape

        hs, src = self.transformer(src, pos_src, tokens)
        iou_token_out = hs[:, 1, :]
        mask_tokens_out = hs[:, 2 : 2 + self.num_mask_tokens, :]

        src = src.transpose(1, 2).reshape(batch, channels, height, width)
        deconv1, norm1, act1, deconv2, act2 = self.output_upscaling
        feat_s0, feat_s1 = high_res_features
        if feat_s0.shape[0] != batch:
            feat_s0, feat_s1 = feat_s0.expand(batch, -1, -1, -1), feat_s1.expand(batch, -1, -1, -1)
        upscaled = act1(norm1(deconv1(src) + feat_s1))
        upscaled = act2(deconv2(upscaled) + feat_s0)

        hyper_in = torch.stack(
            [mlp(mask_tokens_out[:, i, :]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], dim=1
        )
        _, up_channels, up_h, up_w = upscaled.shape
        masks = (hyper_in @ upscaled.view(batch, up_channels, up_h * up_w)).view(batch, -1, up_h, up_w)
        iou = self.iou_prediction_head(iou_token_out)
        object_score = self.pred_obj_score_head(hs[:, 0, :])
        return masks, iou, mask_tokens_out, object_score

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
