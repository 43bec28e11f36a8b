"""Tracking several objects through one frame together: one memory attention, decoder and memory encoder."""

from __future__ import annotations

from collections.abc import Iterator

import torch

from ..sam2.model import ImageFeatures, SAM2Model
from .step import FrameOutput, GatheredMemory, encode_memory, fuse_with_memory, sam_heads


def batches(gathered: list[GatheredMemory], max_batch: int) -> Iterator[list[int]]:
    """Indices of objects that can run together: the same memory layout, at most `max_batch` at once.

    Objects differ in what they attend to (prompted on other frames, added later, corrected alone, absent
    for a while): grouping by layout, instead of padding, keeps every object's arithmetic its own.
    """
    groups: dict[tuple, list[int]] = {}
    for index, memory in enumerate(gathered):
        groups.setdefault(memory.layout, []).append(index)
    for indices in groups.values():
        for start in range(0, len(indices), max(1, max_batch)):
            yield indices[start : start + max(1, max_batch)]


def track_batch(
    model: SAM2Model, features: ImageFeatures, gathered: list[GatheredMemory], multimask: bool
) -> tuple[list[FrameOutput], torch.Tensor]:
    """Track a batch of objects (one memory layout) on one frame.

    Returns each object's output with its memory (float IoU), and the memory positions (the same for
    every object and frame). Each output owns its tensors: a view into the batch would keep the whole
    batch alive, and be saved whole when the memory spills to disk.
    """
    fused = fuse_with_memory(model, features.embedding, features.embedding_pos, gathered)
    low, high, ptr, score, iou = sam_heads(model, fused, features.high_res, None, None, multimask)
    memory, position = encode_memory(model, features.embedding, high, score, False)
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
    return outputs, position[:1]
