"""One tracking step of SAM 2 on one frame: memory conditioning, SAM heads with object pointers, memory encoding."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..sam2.model import ImageFeatures, SAM2Model
from ..sam2.position import sine_1d

NO_OBJECT_SCORE = -1024.0


@dataclass
class FrameOutput:
    """What a tracked frame leaves for later frames (and the caller) for one object."""

    low_res_logits: torch.Tensor  # (1, 1, 256, 256) float32
    obj_ptr: torch.Tensor  # (1, 256)
    object_score: torch.Tensor  # (1, 1) logit: < 0 means the object is absent
    iou: float
    memory: torch.Tensor | None = None  # bfloat16 memory: (1, 64, 64, 64) map, or (1, 512, 64) EdgeTAM tokens


def memory_tokens(memory: torch.Tensor) -> torch.Tensor:
    """A memory or its positions as (1, tokens, 64): a (1, 64, H, W) map is flattened, tokens stay."""
    return memory if memory.ndim == 3 else memory.flatten(2).transpose(1, 2)


@dataclass
class GatheredMemory:
    """What one object attends to on one frame: memory tokens and their positions, pointers last."""

    tokens: torch.Tensor  # (1, N, 64)
    positions: torch.Tensor  # (1, N, 64)
    num_pointer_tokens: int
    num_spatial_mem: int  # memory frames among the tokens

    @property
    def layout(self) -> tuple[int, int, int]:
        """Objects with the same layout can attend in one batch (same token counts, same RoPE)."""
        return self.tokens.shape[1], self.num_pointer_tokens, self.num_spatial_mem


def condition_on_memory(
    model: SAM2Model,
    frame: int,
    features: torch.Tensor,
    position: torch.Tensor,
    conditioning: dict[int, FrameOutput],
    recent: dict[int, FrameOutput],
    num_frames: int,
    reverse: bool,
    is_init_cond_frame: bool,
    memory_pos: torch.Tensor | None,
) -> torch.Tensor:
    """The stride-16 features (1, C, 64, 64) fused with past memories and object pointers.

    `conditioning` holds the prompted frames, `recent` the tracked frames near `frame` (the caller keeps
    what SAM 2 attends to: the last num_maskmem - 1 frames and max_obj_ptrs - 1 pointers in the tracking
    direction).
    """
    if is_init_cond_frame:
        return model.image_embedding_without_memory(features)
    gathered = gather_memory(model, frame, conditioning, recent, num_frames, reverse, memory_pos)
    return fuse_with_memory(model, features, position, [gathered])


def gather_memory(
    model: SAM2Model,
    frame: int,
    conditioning: dict[int, FrameOutput],
    recent: dict[int, FrameOutput],
    num_frames: int,
    reverse: bool,
    memory_pos: torch.Tensor,
) -> GatheredMemory:
    """The memories and object pointers one object attends to on `frame` (see condition_on_memory)."""
    config = model.config
    channels = config.hidden_dim
    memories, memory_positions = [], []
    picked = [(0, out) for out in conditioning.values()]
    step = -1 if reverse else 1
    for t_pos in range(1, config.num_maskmem):
        t_rel = config.num_maskmem - t_pos
        if t_rel <= model.recent_memories:  # all of them, except in the fast mode
            picked.append((t_pos, recent.get(frame - step * t_rel)))
    spatial_pos = memory_tokens(memory_pos)  # (1, HW, 64)
    for t_pos, out in picked:
        if out is None or out.memory is None:
            continue
        memories.append(memory_tokens(out.memory.float()))
        memory_positions.append(spatial_pos + model.maskmem_tpos_enc[config.num_maskmem - t_pos - 1].view(1, 1, -1))
    num_spatial_mem = len(memories)
    pointers, distances = _object_pointers(config, frame, conditioning, recent, num_frames, reverse)
    num_pointer_tokens = 0
    if pointers:
        stacked = torch.stack(pointers, dim=0)  # (N, 1, C)
        mem_dim = config.memory_dim
        if config.add_tpos_enc_to_obj_ptrs:
            t_diff_max = min(num_frames, config.max_obj_ptrs_in_encoder) - 1
            tpos_dim = channels if config.proj_tpos_enc_in_obj_ptrs else mem_dim
            positions = torch.tensor(distances, device=stacked.device) / t_diff_max
            pointer_pos = model.obj_ptr_tpos_proj(sine_1d(positions, tpos_dim)).unsqueeze(1)
        else:
            pointer_pos = stacked.new_zeros(len(pointers), 1, mem_dim)
        split = channels // mem_dim  # a pointer becomes `split` tokens of mem_dim channels
        pointer_tokens = stacked.reshape(-1, 1, split, mem_dim).permute(0, 2, 1, 3).flatten(0, 1)
        pointer_pos = pointer_pos.repeat_interleave(split, dim=0)
        memories.append(pointer_tokens.transpose(0, 1))
        memory_positions.append(pointer_pos.transpose(0, 1))
        num_pointer_tokens = pointer_tokens.shape[0]
    return GatheredMemory(
        torch.cat(memories, dim=1), torch.cat(memory_positions, dim=1), num_pointer_tokens, num_spatial_mem
    )


def fuse_with_memory(
    model: SAM2Model, features: torch.Tensor, position: torch.Tensor, gathered: list[GatheredMemory]
) -> torch.Tensor:
    """Features (1, C, H, W) fused, for each object, with what it gathered (all of one layout): (B, C, H, W).

    The objects attend in one batch: the frame's tokens are shared, memories stacked along the batch.
    """
    layout = gathered[0].layout
    if any(g.layout != layout for g in gathered):
        raise ValueError("objects attending in one batch must gather memories of the same layout")
    memory = torch.cat([g.tokens for g in gathered])
    memory_position = torch.cat([g.positions for g in gathered])
    return attend_memory(model, features, position, memory, memory_position, layout[1], layout[2])


def attend_memory(
    model: SAM2Model,
    features: torch.Tensor,
    position: torch.Tensor,
    memory: torch.Tensor,
    memory_position: torch.Tensor,
    num_pointer_tokens: int,
    num_spatial_mem: int,
    key_bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """Memory attention for B objects on one frame: features (1, C, H, W), memories (B, N, 64) -> (B, C, H, W)."""
    _, channels, height, width = features.shape
    batch = memory.shape[0]
    dtype = model.compute_dtype
    tokens = features.flatten(2).transpose(1, 2).to(dtype).expand(batch, -1, -1)  # (B, HW, C)
    token_pos = position.flatten(2).transpose(1, 2).to(dtype).expand(batch, -1, -1)
    memory, memory_position = memory.to(dtype), memory_position.to(dtype)
    fused = model.memory_attention(
        tokens, token_pos, memory, memory_position, num_pointer_tokens, num_spatial_mem, key_bias
    )
    return fused.float().transpose(1, 2).reshape(batch, channels, height, width)


def decode_and_remember(
    model: SAM2Model, features: ImageFeatures, fused: torch.Tensor, multimask: bool
) -> tuple[torch.Tensor, ...]:
    """The rest of a tracked frame for B objects after memory attention: (low-res logits, obj_ptr, object
    score, IoU, bf16 memory, memory positions)."""
    low, high, ptr, score, iou = sam_heads(model, fused, features.high_res, None, None, multimask)
    memory, position = encode_memory(model, features.embedding, high, score, False)
    return low, ptr, score, iou, memory, position


def _object_pointers(config, frame, conditioning, recent, num_frames, reverse):
    """Pointers from prompted frames (only those in the past of the tracking direction) and recent frames."""
    max_pointers = min(num_frames, config.max_obj_ptrs_in_encoder)
    sign = -1 if reverse else 1
    pointers, distances = [], []
    for t, out in conditioning.items():
        if (t >= frame) if reverse else (t <= frame):
            distances.append((frame - t) * sign if config.use_signed_tpos_enc_to_obj_ptrs else abs(frame - t))
            pointers.append(out.obj_ptr)
    for t_diff in range(1, max_pointers):
        t = frame + t_diff if reverse else frame - t_diff
        if t < 0 or t >= num_frames:
            break
        out = recent.get(t)
        if out is not None:
            distances.append(t_diff)
            pointers.append(out.obj_ptr)
    return pointers, distances


def sam_heads(
    model: SAM2Model,
    backbone: torch.Tensor,
    high_res: tuple[torch.Tensor, torch.Tensor],
    points: tuple | None,
    mask_prompt: torch.Tensor | None,
    multimask: bool,
) -> tuple[torch.Tensor, ...]:
    """Decode B objects' conditioned features (B, C, H, W) of one frame (B = 1 for a prompt): (low-res logits
    (B, 1, 256, 256), high-res logits, obj_ptr (B, C), object score (B, 1), IoU (B, 1)); each object picks
    its own best mask."""
    batch = backbone.shape[0]
    if points is None:  # no prompt: a single padding point
        coords = torch.zeros(batch, 1, 2, device=backbone.device)
        labels = -torch.ones(batch, 1, dtype=torch.int32, device=backbone.device)
    else:
        coords, labels = points
    if mask_prompt is not None:
        mask_prompt = model.downscale_mask_prompt(mask_prompt)
    image = model.prepare_decoder_image(backbone, high_res)
    out = model.decode(image, coords, labels, mask_prompt, multimask)
    appearing = out.object_score_logits > 0
    low_res = torch.where(appearing[:, None, None], out.mask_logits, NO_OBJECT_SCORE).float()
    token = out.output_tokens[:, 0]
    iou = out.iou
    if multimask:
        rows = torch.arange(batch, device=iou.device)
        best = torch.argmax(out.iou, dim=-1)
        low_res = low_res[rows, best].unsqueeze(1)
        iou = out.iou[rows, best].unsqueeze(1)
        if out.output_tokens.shape[1] > 1:
            token = out.output_tokens[rows, best]
    high_res_logits = F.interpolate(low_res, size=(model.config.image_size,) * 2, mode="bilinear", align_corners=False)
    obj_ptr = model.obj_ptr_proj(token)
    present = appearing.float()
    obj_ptr = present * obj_ptr + (1 - present) * model.no_obj_ptr
    return low_res, high_res_logits, obj_ptr, out.object_score_logits, iou


def mask_as_output(model: SAM2Model, features: torch.Tensor, high_res: tuple, mask: torch.Tensor):
    """A given binary mask (1, 1, 1024, 1024) taken as the output: logits +/-10 and a pointer from the decoder."""
    high_res_logits = mask.float() * 20.0 - 10.0
    low_res = F.interpolate(
        high_res_logits,
        size=(high_res_logits.shape[-2] // 4, high_res_logits.shape[-1] // 4),
        mode="bilinear",
        align_corners=False,
        antialias=True,
    )
    _, _, obj_ptr, _, _ = sam_heads(model, features, high_res, None, model.mask_downsample(mask.float()), False)
    present = torch.any(mask.flatten(1).float() > 0.0, dim=1)[..., None].float()
    object_score = 20.0 * present - 10.0
    obj_ptr = present * obj_ptr + (1 - present) * model.no_obj_ptr
    return low_res, high_res_logits, obj_ptr, object_score, 1.0


def encode_memory(
    model: SAM2Model,
    features: torch.Tensor,
    high_res_logits: torch.Tensor,
    object_score: torch.Tensor,
    from_points: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Memory features (bf16, as the official predictor stores them) and their positions for one frame.

    EdgeTAM compresses both with its spatial perceiver into (1, 512, 64) tokens.
    """
    config = model.config
    if from_points:  # the video predictor binarises masks that came from clicks
        mask = (high_res_logits > 0).float()
    else:
        mask = torch.sigmoid(high_res_logits)
    mask = mask * config.sigmoid_scale_for_mem_enc + config.sigmoid_bias_for_mem_enc
    dtype = model.compute_dtype
    memory, position = model.memory_encoder(features.to(dtype), mask.to(dtype))
    memory, position = memory.float(), position.float()
    if model.no_obj_embed_spatial is not None:
        absent = 1 - (object_score > 0).float()
        memory = memory + absent[..., None, None] * model.no_obj_embed_spatial[..., None, None]
    if model.spatial_perceiver is not None:
        memory, position = model.spatial_perceiver(memory.to(dtype), position.to(dtype))
        memory, position = memory.float(), position.float()
    return memory.to(torch.bfloat16), position
