"""CUDA check of the fixed-shape tracking step: graphed and compiled tracking against eager on the same weights.

Usage: python benchmarks/cuda_steps.py FRAMES_DIR [--variant sam2.1-tiny] [--frames 10] [--device cuda]

Three objects (a click on frame 0, a box on frame 2, two clicks on frame 0 with a correction on frame 4 after
the forward pass, then reverse from frame 4) are tracked with StepMode EAGER and GRAPHED in fp32 and bf16,
then COMPILED in bf16, on random weights with the occlusion bias (objects present). Prints, against eager at the same
precision, the largest logit difference and the lowest mask IoU over every output, the seconds each run
took (capture and compilation included) and how many CUDA graphs the step captured. On the CPU the padded
step runs without graphs (and COMPILED compiles it with inductor for the CPU).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch

try:
    import av  # noqa: F401
except ImportError:  # GPU images may lack PyAV; this check reads JPEG folders only
    sys.modules["av"] = types.ModuleType("av")

from image import mask_iou  # benchmarks/image.py, beside this file

from anymask import load_model
from anymask.bench import random_checkpoint
from anymask.tracking import VideoTracker
from anymask.tracking.static_step import StepMode


def scenario(tracker: VideoTracker, frames: int) -> list[np.ndarray]:
    tracker.add_prompt(0, 1, points=[[300, 200]], labels=[1])
    tracker.add_prompt(2, 2, box=[500, 300, 650, 500])
    tracker.add_prompt(0, 3, points=[[120, 300], [160, 330]], labels=[1, 0])
    outputs = [logits for _, _, logits in tracker.propagate(max_frames=frames - 1)]
    tracker.add_prompt(4, 3, points=[[130, 310]], labels=[1], clear_old_points=False)
    outputs += [logits for _, _, logits in tracker.propagate(4, reverse=True)]
    return outputs


def compare(reference: list[np.ndarray], other: list[np.ndarray]) -> tuple[float, float]:
    """(largest absolute logit difference, lowest mask IoU) over every object and frame."""
    worst_diff, worst_iou = 0.0, 1.0
    for ref, out in zip(reference, other, strict=True):
        worst_diff = max(worst_diff, float(np.abs(ref - out).max()))
        worst_iou = min([worst_iou] + [mask_iou(a, b) for a, b in zip(ref > 0, out > 0)])
    return worst_diff, worst_iou


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frames_dir", type=Path)
    parser.add_argument("--variant", default="sam2.1-tiny")
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = random_checkpoint(args.variant, Path(tmp), present=True)
        print(f"{args.variant} on {args.device}, {args.frames} frames, 3 objects, random weights")
        print("| precision | mode | seconds | graphs | max logit diff vs eager | min mask IoU vs eager |")
        print("|---|---|---|---|---|---|")
        references, model = {}, None
        # compiled last (its compilation is the slow part), in bf16 only: the precision a GPU tracks in
        runs = [(p, m) for p in ("fp32", "bf16") for m in (StepMode.EAGER, StepMode.GRAPHED)]
        for precision, mode in runs + [("bf16", StepMode.COMPILED)]:
            if model is None or model.precision != precision:
                model = load_model(checkpoint, device=args.device, precision=precision)
            tracker = VideoTracker(model, args.frames_dir, fill_hole_area=0, step_mode=mode)
            start = time.perf_counter()
            outputs = scenario(tracker, args.frames)
            sync()
            seconds = time.perf_counter() - start
            graphs = len(tracker._static_step._captured) if tracker._static_step is not None else 0
            tracker.close()
            diff, iou = compare(references.setdefault(precision, outputs), outputs)
            print(f"| {precision} | {mode.value} | {seconds:.1f} | {graphs} | {diff:.2e} | {iou:.5f} |", flush=True)


if __name__ == "__main__":
    main()
