"""VideoTracker: prompts on any frame, many objects, forward/backward propagation, memory flat in video length."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..allocator import release_free_memory
from ..media import FrameSource, open_source
from ..prompts import validate_prompts
from ..sam2.model import ImageFeatures, SAM2Model
from .batched import batches, track_batch
from .holes import fill_small_holes
from .inputs import FrameFeatures, FrameInputs, mask_input
from .memory import ObjectMemory, PromptState, new_spill_folder
from .static_step import StaticEncoder, StaticStep, StepMode
from .step import (
    NO_OBJECT_SCORE,
    FrameOutput,
    condition_on_memory,
    encode_memory,
    gather_memory,
    mask_as_output,
    sam_heads,
)

TRACKING_FRAME_CACHE_BYTES = 16 * 1024 * 1024


def propagation_order(start_frame: int, reverse: bool, count: int, num_frames: int) -> range:
    """The frames `propagate` visits, in order: `start_frame`, then up to `count` more in the direction.

    Backward from frame 0 there is nothing to do, so it visits none (frame 0 itself is done forward).
    """
    if reverse:
        return range(start_frame, max(start_frame - count, 0) - 1, -1) if start_frame > 0 else range(0)
    return range(start_frame, min(start_frame + count, num_frames - 1) + 1)


class VideoTracker:
    """Track objects through a video with SAM 2. Frames decode on demand; memory does not grow with length.

    add_all_frames_to_correct_as_cond: a click on an already tracked frame makes it a conditioning frame
    (the official predictor's option; on by default here, so corrections stick when propagating again).
    clear_non_cond_mem_around_input: forget tracked memories within num_maskmem frames of a prompt.
    ram_window: tracked frames per object kept in RAM (SAM 2 reaches back 15 frames for object pointers,
    6 for spatial memories); older ones spill to a disk cache and are read back if a later propagation
    needs them. spill_parent: where that cache goes (a session uses its project's cache folder; default:
    the temp folder); caches left there by killed processes are removed.
    object_batch: objects tracked together in one pass on a frame (those attending to memories of the same
    layout); 1 tracks them one by one. Results are the same either way.
    step_mode: EAGER (default), or GRAPHED / COMPILED: memories padded to fixed shapes, CUDA graphs on a
    GPU (see static_step.py); equal to eager up to rounding.
    """

    def __init__(
        self,
        model: SAM2Model,
        source,
        fill_hole_area: int = 8,
        add_all_frames_to_correct_as_cond: bool = True,
        clear_non_cond_mem_around_input: bool = False,
        ram_window: int = 16,
        read_ahead: int = 2,
        spill_parent: str | Path | None = None,
        object_batch: int = 8,
        step_mode: StepMode | str = StepMode.EAGER,
    ) -> None:
        self.model = model
        self.object_batch = object_batch
        self.step_mode = StepMode(step_mode)
        static = self.step_mode != StepMode.EAGER  # the fixed-shape step and its encoder, with their graphs
        self._static_step = StaticStep(model, self._use_multimask(0), self.step_mode) if static else None
        owns_source = not isinstance(source, FrameSource)
        self.source = open_source(source)
        if owns_source:  # tracking reads each frame once: keep only a few decoded frames
            self.source.cache.max_bytes = min(self.source.cache.max_bytes, TRACKING_FRAME_CACHE_BYTES)
        self.num_frames = len(self.source)
        self.fill_hole_area = fill_hole_area
        self.add_all_frames_to_correct_as_cond = add_all_frames_to_correct_as_cond
        self.clear_non_cond_mem_around_input = clear_non_cond_mem_around_input
        self.ram_window = ram_window
        self.inputs = FrameInputs(
            self.source, model.config.image_size, read_ahead, normalize=model.device.type == "cpu"
        )  # a GPU gets uint8 frames
        encoder = StaticEncoder(model, self.step_mode) if static else model.encode_image
        self._features = FrameFeatures(self.inputs, encoder, model.device)
        self.spill_parent = Path(spill_parent) if spill_parent is not None else None
        self._spill = new_spill_folder(self.spill_parent)
        self.objects: OrderedDict[int, ObjectMemory] = OrderedDict()
        self._memory_pos: torch.Tensor | None = None

    # frames -----------------------------------------------------------------------------------------
    def frame_size(self, frame: int) -> tuple[int, int]:
        return self.source.frame_size(frame)

    def _check_frame(self, frame) -> int:
        if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) or not 0 <= frame < self.num_frames:
            raise ValueError(f"{self.source.path}: frame {frame} is outside the video (0..{self.num_frames - 1})")
        return int(frame)

    @property
    def embedded_frames(self) -> list[int]:
        """Frames whose image embedding is cached (the last few used or prefetched)."""
        return self._features.frames

    @property
    def obj_ids(self) -> list[int]:
        return list(self.objects)

    def _object(self, obj_id: int) -> ObjectMemory:
        if obj_id not in self.objects:
            low_res, _ = self.model.sam_prompt_encoder.mask_input_size  # the decoder's mask side
            self.objects[obj_id] = ObjectMemory(obj_id, Path(self._spill.name), low_res, self.ram_window)
        return self.objects[obj_id]

    # prompts ----------------------------------------------------------------------------------------
    @torch.inference_mode()
    def add_prompt(
        self,
        frame_idx: int,
        obj_id: int,
        points=None,
        labels=None,
        box=None,
        mask=None,
        clear_old_points: bool = True,
        only_prompted: bool = False,
    ) -> tuple[list[int], np.ndarray]:
        """Prompt object `obj_id` on a frame; returns (obj_ids, logits (N, H, W) at the frame's resolution).

        only_prompted: return just this object's logits, from memory (a click needs no other object's
        logits read back from disk and upscaled).
        """
        frame = self._check_frame(frame_idx)
        height, width = self.frame_size(frame)
        if points is None and box is None and mask is None:
            raise ValueError("give points (with labels), a box, or a mask")
        if box is not None and not clear_old_points:
            raise ValueError("a box must come first: use clear_old_points=True with a box")
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != (height, width):
                raise ValueError(f"mask must have the frame's shape {(height, width)}, got {mask.shape}")
        else:
            prompts = validate_prompts(points, labels, box, None, (height, width))
        features = self._features.get(frame)  # may raise MediaError: nothing has changed yet
        memory = self._object(obj_id)
        is_init = frame not in memory.tracked
        reverse = memory.tracked.get(frame, False)
        if mask is not None:
            output = self._prompt_mask(memory, frame, features, mask, is_init, reverse)
        else:
            output = self._prompt_points(
                memory, frame, features, prompts, clear_old_points, is_init, reverse, height, width
            )
        is_cond = is_init or self.add_all_frames_to_correct_as_cond
        memory.logits.put(frame, output.low_res_logits)
        memory.scores[frame] = (float(output.object_score[0, 0]), output.iou)
        memory.pending[frame] = (output, mask is None, is_cond)
        if only_prompted:
            return [obj_id], self._upscale(output.low_res_logits.cpu(), frame)
        return self.obj_ids, self._frame_logits(frame)

    def _prompt_points(self, memory, frame, features, prompts, clear_old_points, is_init, reverse, height, width):
        size = torch.tensor([width, height], dtype=torch.float32)
        coords = torch.zeros(1, 0, 2)
        labels = torch.zeros(1, 0, dtype=torch.int32)
        if prompts.box is not None:
            coords = torch.as_tensor(prompts.box, dtype=torch.float32).reshape(1, 2, 2)
            labels = torch.tensor([[2, 3]], dtype=torch.int32)
        if prompts.coords is not None:
            coords = torch.cat([coords, torch.as_tensor(prompts.coords, dtype=torch.float32)], dim=1)
            labels = torch.cat([labels, torch.as_tensor(prompts.labels, dtype=torch.int32)], dim=1)
        coords = coords / size * self.model.config.image_size  # the official predictor's order of operations
        if not clear_old_points and frame in memory.points:
            old_coords, old_labels = memory.points[frame]
            coords, labels = torch.cat([old_coords, coords], 1), torch.cat([old_labels, labels], 1)
        memory.points[frame] = (coords, labels)
        device = self.model.device
        coords, labels = coords.to(device), labels.to(device)
        previous = memory.logits.get(frame)  # read back from disk, on the CPU
        mask_prompt = torch.clamp(previous, -32.0, 32.0).to(device) if previous is not None else None
        conditioned = self._conditioned(memory, frame, features, is_init, reverse)
        multimask = self._use_multimask(labels.shape[1])
        low, high, ptr, score, ious = sam_heads(
            self.model, conditioned, features.high_res, (coords, labels), mask_prompt, multimask
        )
        low = fill_small_holes(low, self.fill_hole_area)
        return FrameOutput(low, ptr, score, float(ious[0, 0]))

    def _prompt_mask(self, memory, frame, features, mask, is_init, reverse):
        memory.points.pop(frame, None)
        tensor = mask_input(mask, self.model.config.image_size, self.model.device)
        low, _, ptr, score, iou = mask_as_output(self.model, features.embedding, features.high_res, tensor)
        return FrameOutput(low, ptr, score, iou)

    @torch.inference_mode()
    def restore_tracked(self, frame_idx: int, masks: dict[int, np.ndarray | None], reverse: bool = False) -> None:
        """Rebuild the memory of a frame tracked in an earlier run from its saved masks (None: absent there).

        A resumed run calls this for the last few frames it finds saved, then propagates from the next
        frame. The memory is encoded from the binary mask, not the original logits, so results after the
        resume point can differ slightly from an uninterrupted run. Prompted frames are left as they are.
        """
        frame = self._check_frame(frame_idx)
        height, width = self.frame_size(frame)
        features = self._features.get(frame)
        for obj_id, mask in masks.items():
            memory = self.objects.get(obj_id)
            if memory is None or frame in memory.conditioning or frame in memory.pending:
                continue
            mask = np.zeros((height, width), bool) if mask is None else np.asarray(mask)
            tensor = mask_input(mask, self.model.config.image_size, self.model.device)
            _, high, ptr, score, iou = mask_as_output(self.model, features.embedding, features.high_res, tensor)
            output = FrameOutput(torch.empty(0), ptr, score, iou)
            output.memory, position = encode_memory(self.model, features.embedding, high, score, True)
            self._memory_pos = position if self._memory_pos is None else self._memory_pos
            memory.put_recent(frame, output)
            memory.tracked[frame] = reverse

    def _use_multimask(self, num_points: int) -> bool:
        """Multimask output for 0-1 clicks, on prompted and tracked frames alike (every official config)."""
        config = self.model.config
        return config.multimask_min_pt_num <= num_points <= config.multimask_max_pt_num

    def _conditioned(self, memory: ObjectMemory, frame: int, features: ImageFeatures, is_init: bool, reverse: bool):
        config = self.model.config
        recent = {} if is_init else memory.window(frame, reverse, config.num_maskmem, config.max_obj_ptrs_in_encoder)
        return condition_on_memory(
            self.model,
            frame,
            features.embedding,
            features.embedding_pos,
            memory.conditioning,
            recent,
            self.num_frames,
            reverse,
            is_init,
            self._memory_pos,
        )

    def _frame_logits(self, frame: int) -> np.ndarray:
        """Every object's logits on a frame at video resolution (-1024 where an object has none)."""
        height, width = self.frame_size(frame)
        stacked = []
        for memory in self.objects.values():
            logits = memory.logits.get(frame)
            if logits is None:  # on the CPU
                logits = torch.full((1, 1, memory.logits.side, memory.logits.side), NO_OBJECT_SCORE)
            stacked.append(logits)
        if not stacked:
            return np.zeros((0, height, width), np.float32)
        return self._upscale(torch.cat(stacked, dim=0), frame)

    def _upscale(self, low_res: torch.Tensor, frame: int) -> np.ndarray:
        """(N, 1, 256, 256) logits (for 1024-pixel input) -> (N, H, W) at the frame's resolution."""
        height, width = self.frame_size(frame)
        return F.interpolate(low_res, size=(height, width), mode="bilinear", align_corners=False)[:, 0].numpy()

    # propagation ------------------------------------------------------------------------------------
    @torch.inference_mode()
    def _commit_prompts(self) -> None:
        """Encode the memories of prompted frames (the official predictor's preflight)."""
        if not self.objects:
            raise RuntimeError("add a prompt before tracking")
        size = self.model.config.image_size
        for memory in self.objects.values():
            for frame, (output, _from_points, is_cond) in sorted(memory.pending.items()):
                features = self._features.get(frame)
                high = F.interpolate(output.low_res_logits, size=(size, size), mode="bilinear", align_corners=False)
                output.memory, position = encode_memory(self.model, features.embedding, high, output.object_score, True)
                self._memory_pos = position if self._memory_pos is None else self._memory_pos
                if is_cond:
                    memory.conditioning[frame] = output
                    memory.drop_recent(frame)
                else:
                    memory.put_recent(frame, output)
                if self.clear_non_cond_mem_around_input:
                    self._clear_around(memory, frame)
            memory.pending.clear()
            if not memory.conditioning:
                raise RuntimeError(f"object {memory.object_id} has no prompt yet")

    def _clear_around(self, memory: ObjectMemory, frame: int) -> None:
        reach = self.model.config.num_maskmem
        for t in range(frame - reach, frame + reach + 1):
            memory.drop_recent(t)

    @torch.inference_mode()
    def propagate(
        self, start_frame: int | None = None, reverse: bool = False, max_frames: int | None = None
    ) -> Iterator[tuple[int, list[int], np.ndarray]]:
        """Yield (frame_idx, obj_ids, logits (N, H, W)) frame by frame; stopping early keeps what was done."""
        self._commit_prompts()
        if start_frame is None:
            start_frame = min(t for m in self.objects.values() for t in m.conditioning)
        start_frame = self._check_frame(start_frame)
        count = self.num_frames if max_frames is None else max_frames
        frames = list(propagation_order(start_frame, reverse, count, self.num_frames))
        for position, frame in enumerate(frames):
            upcoming = frames[position + 1 : position + 1 + self.inputs.read_ahead]
            to_track = []
            for memory in self.objects.values():
                if frame in memory.conditioning:
                    if self.clear_non_cond_mem_around_input:
                        self._clear_around(memory, frame)
                else:
                    to_track.append(memory)
            if to_track:
                self._track(to_track, frame, reverse, upcoming)
            for memory in self.objects.values():
                memory.tracked[frame] = reverse
            release_free_memory()
            yield frame, self.obj_ids, self._frame_logits(frame)

    def propagate_with_scores(
        self, start_frame: int | None = None, reverse: bool = False, max_frames: int | None = None
    ) -> Iterator[tuple[int, list[int], np.ndarray, dict[int, tuple[float, float]]]]:
        """`propagate`, each frame with its objects' (presence score logit, predicted IoU), as object_scores."""
        with closing(self.propagate(start_frame, reverse, max_frames)) as frames:
            for frame, obj_ids, logits in frames:
                scores = {obj_id: m.scores[frame] for obj_id, m in self.objects.items() if frame in m.scores}
                yield frame, obj_ids, logits, scores

    def _track(self, memories: list[ObjectMemory], frame: int, reverse: bool, upcoming: list[int]) -> None:
        """Track objects on a frame, those attending to memories of the same layout in one batch."""
        features = self._features.get(frame, upcoming)
        config = self.model.config
        gathered = [
            gather_memory(
                self.model,
                frame,
                memory.conditioning,
                memory.window(frame, reverse, config.num_maskmem, config.max_obj_ptrs_in_encoder),
                self.num_frames,
                reverse,
                self._memory_pos,
            )
            for memory in memories
        ]
        for indices in batches(gathered, self.object_batch, padded=self._static_step is not None):
            outputs, position = track_batch(
                self.model, features, [gathered[i] for i in indices], self._use_multimask(0), self._static_step
            )
            self._memory_pos = position if self._memory_pos is None else self._memory_pos
            for index, output in zip(indices, outputs):
                memory = memories[index]
                memory.logits.put(frame, fill_small_holes(output.low_res_logits, self.fill_hole_area))
                memory.scores[frame] = (float(output.object_score[0, 0]), output.iou)
                output.low_res_logits = torch.empty(0)  # kept on disk, not in RAM
                memory.put_recent(frame, output)

    # undo support ---------------------------------------------------------------------------------
    def prompt_state(self, frame: int, obj_id: int) -> PromptState:
        memory = self.objects.get(obj_id)
        return PromptState(False) if memory is None else memory.prompt_state(frame)

    def restore_prompt_state(self, frame: int, obj_id: int, state: PromptState) -> None:
        if not state.known:
            self.remove_object(obj_id)
        else:
            self._object(obj_id).restore_prompt_state(frame, state)

    def prefetch(self, frame: int) -> None:
        """Compute a frame's image embedding now (a person is about to click there)."""
        self._features.get(self._check_frame(frame))

    # queries and housekeeping -----------------------------------------------------------------------
    def object_scores(self, frame_idx: int) -> dict[int, tuple[float, float]]:
        """Per object on a frame: (presence score logit, predicted IoU); a presence score < 0 means absent."""
        frame = self._check_frame(frame_idx)
        return {obj_id: m.scores[frame] for obj_id, m in self.objects.items() if frame in m.scores}

    def mask_logits(self, frame_idx: int) -> tuple[list[int], np.ndarray]:
        frame = self._check_frame(frame_idx)
        return self.obj_ids, self._frame_logits(frame)

    def remove_object(self, obj_id: int) -> None:
        memory = self.objects.pop(obj_id, None)
        if memory is not None:
            memory.close()

    def reset(self) -> None:
        """Forget every prompt, memory and result."""
        for memory in self.objects.values():
            memory.close()
        self.objects.clear()
        self._spill.cleanup()
        self._spill = new_spill_folder(self.spill_parent)

    def close(self) -> None:
        self.reset()
        self.inputs.close()
        self._spill.cleanup()
