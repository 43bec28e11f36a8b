"""SAM2Model: every network part under its official name, plus image encoding and prompt decoding."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .config import SAM2Config
from .fast_ops import nchw_view
from .int8 import dequantize_linears, quantize_linears
from .layers import MLP
from .linear import release_packed_weights
from .mask_decoder import DecoderImage, DecoderOutput, MaskDecoder
from .memory_attention import MemoryAttention
from .memory_encoder import MemoryEncoder
from .neck import ImageEncoder
from .perceiver import PerceiverResampler
from .prompt_encoder import PromptEncoder

# the dtype each precision computes the heavy parts in; "fast" is fp32 with int8 linears (see set_precision)
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fast": torch.float32}
FAST_RECENT_MEMORIES = 3  # recent (non-prompted) memory frames the fast mode attends to, of num_maskmem - 1


@dataclass
class ImageFeatures:
    """What one encoded image gives the decoder and the tracker (all float32, batch first)."""

    embedding: torch.Tensor  # (B, 256, 64, 64), stride 16, before the no-memory embedding
    high_res: tuple[torch.Tensor, torch.Tensor]  # stride 4 (B, 32, 256, 256), stride 8 (B, 64, 128, 128)
    embedding_pos: torch.Tensor  # (B, 256, 64, 64) sine positions of the stride-16 map


class SAM2Model(nn.Module):
    """The SAM 2 / 2.1 (or EdgeTAM) network. Parameter names match the official checkpoints one to one."""

    def __init__(self, config: SAM2Config) -> None:
        super().__init__()
        self.config = config
        hidden, mem = config.hidden_dim, config.memory_dim
        self.image_encoder = ImageEncoder(config)
        perceiver = config.perceiver
        key_grid = perceiver.grid if perceiver else None
        self.memory_attention = MemoryAttention(hidden, mem, config.memory_attention_layers, key_grid=key_grid)
        self.memory_encoder = MemoryEncoder(hidden, mem)
        self.spatial_perceiver = PerceiverResampler(perceiver) if perceiver else None
        self.maskmem_tpos_enc = nn.Parameter(torch.zeros(config.num_maskmem, 1, 1, mem))
        self.no_mem_embed = nn.Parameter(torch.zeros(1, 1, hidden))
        self.no_mem_pos_enc = nn.Parameter(torch.zeros(1, 1, hidden))
        self.no_obj_ptr = nn.Parameter(torch.zeros(1, hidden))
        if config.no_obj_embed_spatial:
            self.no_obj_embed_spatial = nn.Parameter(torch.zeros(1, mem))
        else:
            self.no_obj_embed_spatial = None
        self.sam_prompt_encoder = PromptEncoder(hidden, config.embedding_size, config.image_size)
        self.sam_mask_decoder = MaskDecoder(
            hidden,
            dynamic_multimask_via_stability=config.dynamic_multimask_via_stability,
            stability_delta=config.dynamic_multimask_stability_delta,
            stability_thresh=config.dynamic_multimask_stability_thresh,
        )
        self.obj_ptr_proj = MLP(hidden, hidden, hidden, 3)
        if config.proj_tpos_enc_in_obj_ptrs:
            self.obj_ptr_tpos_proj: nn.Module = nn.Linear(hidden, mem)
        else:
            self.obj_ptr_tpos_proj = nn.Identity()
        self.mask_downsample = nn.Conv2d(1, 1, kernel_size=4, stride=4)
        self.precision = "fp32"
        self.precision_choice = None  # how load_model chose the precision (anymask.models.precision.PrecisionChoice)
        self.recent_memories = config.num_maskmem - 1  # recent tracked frames a frame attends to

    @property
    def device(self) -> torch.device:
        return self.no_mem_embed.device

    @property
    def compute_dtype(self) -> torch.dtype:
        return PRECISIONS[self.precision]

    def set_precision(self, precision: str) -> "SAM2Model":
        """fp32; bf16: image encoder, mask decoder, memory attention and memory encoder in bfloat16;
        fast (CPU): fp32 with the image encoder's and memory attention's linears as dynamic int8 GEMMs,
        and only the FAST_RECENT_MEMORIES nearest tracked frames as memories (prompted frames all stay).

        Prompt encoding, positional encodings, object pointers and all returned tensors stay float32.
        """
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.precision = precision
        dequantize_linears(self)
        release_packed_weights(self)  # the old precision's copies; remade on first use
        self.recent_memories = self.config.num_maskmem - 1
        for part in self.compute_parts():
            part.to(PRECISIONS[precision])
        if precision == "fast":
            quantize_linears(self.image_encoder)
            quantize_linears(self.memory_attention)
            self.recent_memories = min(self.recent_memories, FAST_RECENT_MEMORIES)
        return self

    def compute_parts(self) -> list[nn.Module]:
        """The parts that run in the compute precision (the rest stays float32)."""
        parts = [self.image_encoder, self.sam_mask_decoder, self.memory_attention, self.memory_encoder]
        return parts + ([self.spatial_perceiver] if self.spatial_perceiver is not None else [])

    @torch.no_grad()
    def encode_image(self, images: torch.Tensor) -> ImageFeatures:
        """images: (B, 3, 1024, 1024) normalised float -> decoder-ready features."""
        # the decoder's stride-4/8 projections run once per image, in the encoder's precision, folded into
        # the neck's lateral convolutions (the 256-channel maps at those strides feed nothing else)
        heads = {0: self.sam_mask_decoder.conv_s0, 1: self.sam_mask_decoder.conv_s1}
        backbone = self.image_encoder(images.to(self.device, self.compute_dtype), heads)
        s0, s1, stride16 = (feature.float() for feature in backbone.feature_maps)
        return ImageFeatures(nchw_view(stride16), (nchw_view(s0), nchw_view(s1)), backbone.position_map.float())

    def image_embedding_without_memory(self, embedding: torch.Tensor) -> torch.Tensor:
        """A stride-16 map (B, C, H, W) with the learned no-memory embedding added (a frame with no past)."""
        return embedding + self.no_mem_embed.view(1, -1, 1, 1)

    def downscale_mask_prompt(self, mask: torch.Tensor) -> torch.Tensor:
        """Resize a (B, 1, H, W) mask prompt to the prompt encoder's 256x256 when needed."""
        if tuple(mask.shape[-2:]) == self.sam_prompt_encoder.mask_input_size:
            return mask
        return F.interpolate(
            mask.float(),
            size=self.sam_prompt_encoder.mask_input_size,
            mode="bilinear",
            align_corners=False,
            antialias=True,
        )

    def prepare_decoder_image(
        self, image_embedding: torch.Tensor, high_res: tuple[torch.Tensor, torch.Tensor]
    ) -> DecoderImage:
        """Lay an image's features out for repeated decoding (done once per image, not per click)."""
        return self.sam_mask_decoder.prepare(
            image_embedding, self.sam_prompt_encoder.dense_positional_encoding(), high_res
        )

    def prepare_first_click(self, image: DecoderImage) -> None:
        """Compute the decoder's projections for prompts without a mask now rather than at the first click."""
        self.sam_mask_decoder.first_layer_keys(image, self.sam_prompt_encoder.no_mask_embed.weight)

    def decode(
        self,
        image: DecoderImage,
        point_coords: torch.Tensor | None,
        point_labels: torch.Tensor | None,
        mask_input: torch.Tensor | None,
        multimask_output: bool,
    ) -> DecoderOutput:
        """Run prompt encoder + mask decoder. Points are in 1024-space pixels; boxes are corner points."""
        points = (point_coords, point_labels) if point_coords is not None else None
        sparse, dense = self.sam_prompt_encoder(points, mask_input)
        return self.sam_mask_decoder(
            image,
            sparse,
            dense if mask_input is not None else None,
            multimask_output=multimask_output,
            no_mask_embed=self.sam_prompt_encoder.no_mask_embed.weight,
        )


def build_model(config: SAM2Config) -> SAM2Model:
    """An untrained model of the given variant, in eval mode."""
    return SAM2Model(config).eval()
