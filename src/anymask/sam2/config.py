"""The official SAM 2 / SAM 2.1 variants and EdgeTAM as plain dataclasses (what the YAML configs say)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class HieraConfig:
    """Shape of the Hiera image trunk."""

    embed_dim: int
    num_heads: int
    stages: tuple[int, ...]
    global_attention_blocks: tuple[int, ...]
    window_spec: tuple[int, ...] = (8, 4, 14, 7)
    background_pos_size: tuple[int, int] = (14, 14)

    @property
    def depth(self) -> int:
        return sum(self.stages)

    @property
    def channel_list(self) -> tuple[int, ...]:
        """Output channels of each stage, deepest first (what the FPN neck consumes)."""
        return tuple(self.embed_dim * 2**i for i in reversed(range(len(self.stages))))


@dataclass(frozen=True)
class RepViTConfig:
    """Shape of EdgeTAM's RepViT image trunk (timm's `repvit_m1`)."""

    embed_dims: tuple[int, ...] = (48, 96, 192, 384)
    depths: tuple[int, ...] = (2, 2, 14, 2)
    mlp_ratio: int = 2

    @property
    def channel_list(self) -> tuple[int, ...]:
        """Output channels of each stage, deepest first (what the FPN neck consumes)."""
        return tuple(reversed(self.embed_dims))


@dataclass(frozen=True)
class PerceiverConfig:
    """EdgeTAM's 2-D spatial perceiver: each memory frame becomes `num_latents` global latents plus a
    `grid` x `grid` map of window latents (512 tokens instead of 4096)."""

    depth: int = 2
    dim: int = 64
    ff_mult: int = 4
    num_latents: int = 256
    grid: int = 16

    @property
    def tokens_per_frame(self) -> int:
        return self.num_latents + self.grid * self.grid


@dataclass(frozen=True)
class SAM2Config:
    """Everything needed to build one variant; defaults are the values shared by all official configs."""

    name: str
    version: str  # "2" or "2.1"
    size: str  # tiny, small, base_plus, large
    trunk: HieraConfig | RepViTConfig
    # SAM 2.1 additions
    no_obj_embed_spatial: bool = False
    add_tpos_enc_to_obj_ptrs: bool = False
    proj_tpos_enc_in_obj_ptrs: bool = False
    use_signed_tpos_enc_to_obj_ptrs: bool = False
    # EdgeTAM: memories compressed by a perceiver, keys rotated on the perceiver's grid
    perceiver: PerceiverConfig | None = None
    # shared by every official config (EdgeTAM: 2 memory-attention layers)
    image_size: int = 1024
    backbone_stride: int = 16
    hidden_dim: int = 256
    memory_dim: int = 64
    num_maskmem: int = 7
    memory_attention_layers: int = 4
    fpn_top_down_levels: tuple[int, ...] = (2, 3)
    sigmoid_scale_for_mem_enc: float = 20.0
    sigmoid_bias_for_mem_enc: float = -10.0
    max_obj_ptrs_in_encoder: int = 16
    multimask_min_pt_num: int = 0
    multimask_max_pt_num: int = 1
    # post-processing the official builders switch on ("apply_postprocessing")
    dynamic_multimask_via_stability: bool = True
    dynamic_multimask_stability_delta: float = 0.05
    dynamic_multimask_stability_thresh: float = 0.98
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def embedding_size(self) -> int:
        return self.image_size // self.backbone_stride


TRUNKS: dict[str, HieraConfig] = {
    "tiny": HieraConfig(96, 1, (1, 2, 7, 2), (5, 7, 9), background_pos_size=(7, 7)),
    "small": HieraConfig(96, 1, (1, 2, 11, 2), (7, 10, 13), background_pos_size=(7, 7)),
    "base_plus": HieraConfig(112, 2, (2, 3, 16, 3), (12, 16, 20), background_pos_size=(14, 14)),
    "large": HieraConfig(144, 2, (2, 6, 36, 4), (23, 33, 43), window_spec=(8, 4, 16, 8), background_pos_size=(7, 7)),
}

SIZES = tuple(TRUNKS)
VERSIONS = ("2", "2.1")


def _variant(version: str, size: str) -> SAM2Config:
    is_21 = version == "2.1"
    return SAM2Config(
        name=f"sam{version}-{size}",
        version=version,
        size=size,
        trunk=TRUNKS[size],
        no_obj_embed_spatial=is_21,
        add_tpos_enc_to_obj_ptrs=is_21,
        proj_tpos_enc_in_obj_ptrs=is_21,
        use_signed_tpos_enc_to_obj_ptrs=is_21,
    )


VARIANTS: dict[str, SAM2Config] = {f"sam{v}-{s}": _variant(v, s) for v in VERSIONS for s in SIZES}
# EdgeTAM (edgetam.yaml): SAM 2's heads and prompts, SAM 2.0's pointer settings, a RepViT trunk,
# a perceiver over each memory and two memory-attention layers
VARIANTS["edgetam"] = SAM2Config(
    name="edgetam",
    version="2",
    size="repvit_m1",
    trunk=RepViTConfig(),
    perceiver=PerceiverConfig(),
    memory_attention_layers=2,
)


def get_config(name: str) -> SAM2Config:
    """Look a variant up by name; accepts `sam2.1-base_plus`, `sam2.1-base-plus`, `sam2.1_hiera_b+` spellings."""
    key = normalize_variant_name(name)
    if key not in VARIANTS:
        known = ", ".join(VARIANTS)
        raise ValueError(f"unknown model variant {name!r}; known variants: {known}")
    return VARIANTS[key]


_SIZE_ALIASES = {
    "t": "tiny",
    "tiny": "tiny",
    "s": "small",
    "small": "small",
    "b+": "base_plus",
    "base_plus": "base_plus",
    "base-plus": "base_plus",
    "baseplus": "base_plus",
    "base+": "base_plus",
    "bplus": "base_plus",
    "l": "large",
    "large": "large",
}


def normalize_variant_name(name: str) -> str:
    """Map the spellings people use (`sam2.1_hiera_t`, `SAM2.1-Tiny`, `sam2-base-plus`) to our names."""
    text = name.strip().lower().removesuffix(".pt").replace("hiera", "").replace("_", "-")
    if text.replace("-", "").replace(" ", "") in ("edgetam", "edgetamrepvit", "edgetamrepvitm1"):
        return "edgetam"
    text = "-".join(part for part in text.split("-") if part)
    if text.startswith("sam2.1"):
        version, rest = "2.1", text[len("sam2.1") :]
    elif text.startswith("sam2"):
        version, rest = "2", text[len("sam2") :]
    else:
        return text
    size = _SIZE_ALIASES.get(rest.strip("-"))
    return f"sam{version}-{size}" if size else text
