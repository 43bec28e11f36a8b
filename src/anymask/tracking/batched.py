"""Tracking several objects through one frame together: one memory attention, decoder and memory encoder."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from ..sam2.model import ImageFeatures, SAM2Model
from .static_step import StaticStep
from .step import FrameOutput, GatheredMemory, decode_and_remember, fuse_with_memory


def batches(gathered: list[GatheredMemory], max_batch: int, padded: bool = False) -> Iterator[list[int]]:
    """Indices of objects that can run together, at most `max_batch` at once: the same memory layout, or
    any layouts when their memories are `padded` to fixed slots (see static_step.py).

    Objects differ in what they attend to (prompted on other frames, added later, corrected alone, absent
    for a while): grouping by layout, instead of padding, keeps every object's arithmetic its own.
    """
    groups: dict[tuple, list[int]] = {}
    for index, memory in enumerate(gathered):
        groups.setdefault(() if padded else memory.layout, []).append(index)
    for indices in groups.values():
        for start in range(0, len(indices), max(1, max_batch)):
            yield indices[start : start + max(1, max_batch)]


def track_batch(
    model: SAM2Model,
    features: ImageFeatures,
    gathered: list[GatheredMemory],
    multimask: bool,
    static_step: StaticStep | None = None,
) -> tuple[list[FrameOutput], torch.Tensor]:
    """Track a batch of objects (one memory layout, or any layouts with a `static_step`) on one frame.

    Returns each object's output with its memory (float IoU), and the memory positions (the same for
    every object and frame). Each output owns its tensors: a view into the batch would keep the whole
    batch alive, and be saved whole when the memory spills to disk.
    """
    if static_step is not None:
        low, ptr, score, iou, memory, position = static_step(features, gathered)
    else:
        fused = fuse_with_memory(model, features.embedding, features.embedding_pos, gathered)
        low, ptr, score, iou, memory, position = decode_and_remember(model, features, fused, multimask)
    outputs = [
        FrameOutput(
            low[i : i + 1].clone(),
            ptr[i : i + 1].clone(),
            score[i : i + 1].clone(),
            float(iou[i, 0]),
            memory[i : i + 1].clone(),
        )
        for i in range(len(gathered))
    ]
    return outputs, position[:1].clone()
