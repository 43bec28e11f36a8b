"""The tracked-frame step at fixed shapes: memories padded to bank slots, replayed as a CUDA graph on a GPU."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..sam2.model import ImageFeatures, SAM2Model
from ..vocabulary import StepMode
from .step import GatheredMemory, attend_memory, decode_and_remember

log = logging.getLogger(__name__)
COMPILED_SHAPES = 64  # shapes the compiled step may take before torch.compile falls back to eager


@dataclass(frozen=True)
class BankSlots:
    """The padded memory layout: `frames` memory frames of `frame_tokens` tokens, then `pointers` tokens."""

    frames: int
    frame_tokens: int
    pointers: int

    @property
    def tokens(self) -> int:
        return self.frames * self.frame_tokens + self.pointers


def bank_slots(model: SAM2Model, gathered: list[GatheredMemory]) -> BankSlots:
    """Slots for these objects' memories: whole multiples of a full bank (num_maskmem frames, max_obj_ptrs
    pointers), so the shape stays the same frame after frame and grows only with many prompted frames."""
    config = model.config
    with_frames = [g for g in gathered if g.num_spatial_mem]
    if not with_frames:
        raise ValueError("a tracked frame attends to at least one memory frame")
    frames = max(g.num_spatial_mem for g in with_frames)
    first = with_frames[0]
    frame_tokens = (first.tokens.shape[1] - first.num_pointer_tokens) // first.num_spatial_mem
    pointer_unit = config.max_obj_ptrs_in_encoder * (config.hidden_dim // config.memory_dim)
    pointers = max(g.num_pointer_tokens for g in gathered)
    return BankSlots(
        config.num_maskmem * max(1, math.ceil(frames / config.num_maskmem)),
        frame_tokens,
        pointer_unit * max(1, math.ceil(pointers / pointer_unit)),
    )


@dataclass
class PaddedMemory:
    """B objects' memories in fixed slots: tokens and positions (B, slots.tokens, 64) in the compute dtype,
    and `key_bias` (B, 1, 1, slots.tokens): 0 for a real token, -inf for padding."""

    tokens: torch.Tensor
    positions: torch.Tensor
    key_bias: torch.Tensor

    @classmethod
    def empty(cls, batch: int, slots: BankSlots, channels: int, dtype: torch.dtype, device) -> PaddedMemory:
        """Buffers for `batch` objects, uninitialised until `fill`, which writes every element."""
        tokens = torch.empty(batch, slots.tokens, channels, dtype=dtype, device=device)
        bias = torch.empty(batch, 1, 1, slots.tokens, dtype=dtype, device=device)
        return cls(tokens, torch.empty_like(tokens), bias)

    def fill(self, gathered: list[GatheredMemory], slots: BankSlots) -> None:
        """Write each object's memory frames into the first frame slots and its pointers into the first
        pointer slots; everything else becomes zeros hidden by -inf."""
        self.tokens.zero_()
        self.positions.zero_()
        self.key_bias.fill_(-math.inf)
        pointer_start = slots.frames * slots.frame_tokens
        for index, memory in enumerate(gathered):
            spatial = memory.num_spatial_mem * slots.frame_tokens
            pointers = memory.num_pointer_tokens
            for target, source in ((self.tokens, memory.tokens), (self.positions, memory.positions)):
                target[index, :spatial] = source[0, :spatial]
                target[index, pointer_start : pointer_start + pointers] = source[0, spatial:]
            self.key_bias[index, ..., :spatial] = 0
            self.key_bias[index, ..., pointer_start : pointer_start + pointers] = 0


def padded_step(
    model: SAM2Model,
    slots: BankSlots,
    multimask: bool,
    embedding: torch.Tensor,
    embedding_pos: torch.Tensor,
    high_res_s0: torch.Tensor,
    high_res_s1: torch.Tensor,
    memory: torch.Tensor,
    memory_position: torch.Tensor,
    key_bias: torch.Tensor,
) -> tuple[torch.Tensor, ...]:
    """One tracked frame for B objects from fixed-shape tensors (no Python decision depends on a value):
    (low-res logits, obj_ptr, object score, IoU, bf16 memory, memory positions)."""
    features = ImageFeatures(embedding, (high_res_s0, high_res_s1), embedding_pos)
    fused = attend_memory(
        model, embedding, embedding_pos, memory, memory_position, slots.pointers, slots.frames, key_bias
    )
    return decode_and_remember(model, features, fused, multimask)


class _CapturedStep:
    """One shape's step captured as a CUDA graph: fixed input buffers, copied into before each replay."""

    def __init__(self, function: Callable, inputs: tuple[torch.Tensor, ...], pool=None) -> None:
        self.inputs = inputs
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):  # warm-up fills lazy caches (rotations, folded weights) outside capture
            for _ in range(2):
                function(*inputs)
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph, pool=pool):
            self.outputs = function(*inputs)

    def replay(self) -> tuple[torch.Tensor, ...]:
        self.graph.replay()
        return self.outputs


class StaticStep:
    """Runs a batch's tracked frame with memories padded to fixed slots; any mix of memory layouts can share
    a batch. On CUDA each (objects, slots) shape is captured once as a CUDA graph and replayed, so a frame
    costs a few copies and one launch instead of hundreds of kernel launches from Python. Outputs are
    views into the graph's buffers until the next replay: the caller copies them (track_batch clones).

    Padding changes no result beyond rounding: padded keys get a -inf score, a zero weight. If capture
    fails, the step logs why once and runs the same padded arithmetic without a graph.
    """

    def __init__(self, model: SAM2Model, multimask: bool, mode: StepMode = StepMode.GRAPHED) -> None:
        if mode == StepMode.EAGER:
            raise ValueError("StaticStep runs the graphed or compiled modes")
        self.model = model
        self.multimask = multimask
        self.mode = mode
        self.use_graphs = model.device.type == "cuda"
        if mode == StepMode.COMPILED:  # every (objects, slots) shape compiles the same function once
            torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, COMPILED_SHAPES)
        self._captured: dict[tuple[int, BankSlots], _CapturedStep] = {}
        self._pool = torch.cuda.graph_pool_handle() if self.use_graphs else None  # one pool for every shape
        self._compiled: dict[tuple[int, BankSlots], Callable] = {}

    def function(self, batch: int, slots: BankSlots) -> Callable:
        """The step for `batch` objects at these slots as a function of tensors only (in COMPILED mode
        compiled once per shape, so no shape change recompiles another shape's code)."""
        key = (batch, slots)
        if key not in self._compiled:

            def step(*tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
                return padded_step(self.model, slots, self.multimask, *tensors)

            if self.mode == StepMode.COMPILED:
                step = torch.compile(step, dynamic=False, fullgraph=True)
            self._compiled[key] = step
        return self._compiled[key]

    def _inputs(self, features: ImageFeatures, memory: PaddedMemory | None) -> tuple[torch.Tensor, ...]:
        """The step's tensor arguments: the frame's features, then (with `memory`) the padded memory."""
        s0, s1 = features.high_res
        frame = (features.embedding, features.embedding_pos, s0, s1)
        return frame if memory is None else frame + (memory.tokens, memory.positions, memory.key_bias)

    def __call__(self, features: ImageFeatures, gathered: list[GatheredMemory]) -> tuple[torch.Tensor, ...]:
        slots = bank_slots(self.model, gathered)
        key = (len(gathered), slots)
        captured = self._captured.get(key)
        if captured is not None:  # refill the graph's own input buffers, then replay
            static = captured.inputs
            PaddedMemory(*static[4:]).fill(gathered, slots)
            for target, source in zip(static[:4], self._inputs(features, None)):
                target.copy_(source)
            return captured.replay()
        memory = PaddedMemory.empty(
            len(gathered), slots, self.model.config.memory_dim, self.model.compute_dtype, self.model.device
        )
        memory.fill(gathered, slots)
        inputs = self._inputs(features, memory)
        if self.use_graphs:
            try:  # the padded memory becomes the graph's buffers; the frame's features are copied in
                captured = _CapturedStep(
                    self.function(*key), tuple(t.clone() for t in inputs[:4]) + inputs[4:], self._pool
                )
                self._captured[key] = captured
                return captured.replay()
            except Exception as error:  # noqa: BLE001 - any capture failure falls back to the same arithmetic
                log.warning("CUDA graph capture failed (%s); tracking continues without graphs", error)
                self.use_graphs = False
        return self.function(*key)(*inputs)


class StaticEncoder:
    """The image encoder for the graphed modes: on CUDA one (1, 3, S, S) frame is captured once as a CUDA
    graph and replayed for every frame (compiled first in COMPILED mode); elsewhere, or if capture fails,
    the model's own encode_image. Returned features are copies, so cached frames stay valid."""

    def __init__(self, model: SAM2Model, mode: StepMode) -> None:
        self.model = model
        self.use_graphs = model.device.type == "cuda"
        encode = self._encode
        self.function = torch.compile(encode, dynamic=False, fullgraph=True) if mode == StepMode.COMPILED else encode
        self._captured: _CapturedStep | None = None

    def _encode(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        features = self.model.encode_image(images)
        return features.embedding, features.embedding_pos, *features.high_res

    def __call__(self, images: torch.Tensor) -> ImageFeatures:
        if not self.use_graphs or images.shape[0] != 1:
            return self.model.encode_image(images)
        if self._captured is None:
            try:
                self._captured = _CapturedStep(self.function, (images.clone(),))
            except Exception as error:  # noqa: BLE001 - any capture failure falls back to the same arithmetic
                log.warning("CUDA graph capture of the image encoder failed (%s); it runs without a graph", error)
                self.use_graphs = False
                return self.model.encode_image(images)
        self._captured.inputs[0].copy_(images)
        embedding, position, s0, s1 = (t.clone() for t in self._captured.replay())
        return ImageFeatures(embedding, (s0, s1), position)
