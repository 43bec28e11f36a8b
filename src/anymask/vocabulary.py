"""The names users and files use (precisions, output modes, tracking step modes, directions, export formats).

Torch-free and numpy-free, so the command line can build its parser without loading either.
"""

from __future__ import annotations

from enum import Enum


class Precision(str, Enum):
    """What a user may ask for. `auto` resolves to fp32 or bf16 for a given device (anymask.models.precision)."""

    AUTO = "auto"
    FP32 = "fp32"
    BF16 = "bf16"
    FAST = "fast"


class OutputMode(str, Enum):
    """The shape written for each mask: a polygon, an axis-aligned box, a rotated box, or the mask itself."""

    POLYGON = "polygon"
    RECTANGLE = "rectangle"
    ROTATION = "rotation"
    MASK = "mask"


class StepMode(str, Enum):
    """How the video tracker runs a batch of objects through a tracked frame (anymask.tracking.static_step)."""

    EAGER = "eager"  # shapes follow the memory bank (grows over the first frames, one layout per batch)
    GRAPHED = "graphed"  # memories padded to fixed slots; on CUDA one captured graph per shape, replayed
    COMPILED = "compiled"  # GRAPHED, with the step compiled by torch.compile (inductor) before capture


class Direction(str, Enum):
    FORWARD = "forward"
    BACKWARD = "backward"
    BOTH = "both"


PRECISION_NAMES = tuple(p.value for p in Precision)
OUTPUT_MODES = tuple(m.value for m in OutputMode)
DIRECTIONS = tuple(d.value for d in Direction)
STEP_MODES = tuple(m.value for m in StepMode)
EXPORT_FORMATS = (
    "coco",
    "yolo-det",
    "yolo-seg",
    "yolo-obb",
    "voc",
    "mot",
    "mots",
    "davis",
    "youtube-vis",
    "cvat",
    "xanylabeling",
    "label-studio",
)
PRECISION_HELP = (
    "auto: bf16 where the device computes it natively (CUDA with bf16, AVX512_BF16/AMX CPUs), else fp32; "
    "fp32: exact; bf16: ~2-3x faster on CPUs with native BF16, much slower on others; "
    "fast: CPU only, int8 linears and fewer memory frames, for CPUs without BF16, approximate"
)
