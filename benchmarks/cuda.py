"""CUDA check: our image predictor, video tracker and session on `device="cuda"`, against our CPU fp32 result.

Usage: python benchmarks/cuda.py FRAMES_DIR PHOTO [--out result.json] [--frames 40]

FRAMES_DIR is a folder of JPEG frames (e.g. vtest.avi's first frames), PHOTO an image file. Checkpoints
are random weights in the official format (random weights do not change speed); the tracker's checkpoint
gets a +6 bias on the occlusion head so objects are present. Reports, per variant and precision:
set_image / click times, the largest logit difference against CPU fp32 (or mask IoU for bf16), tracking
seconds per frame and peak CUDA memory after 10 frames and at the end (flat means the bank is bounded).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
try:
    import av  # noqa: F401
except ImportError:  # the GPU image has no PyAV; this check reads JPEG folders only
    sys.modules["av"] = types.ModuleType("av")

from anymask import ImagePredictor, load_model  # noqa: E402
from anymask.bench import random_checkpoint  # noqa: E402
from anymask.session import Session  # noqa: E402
from anymask.tracking import VideoTracker  # noqa: E402

DEVICE = "cuda"
RUNS = [("cpu", "fp32"), ("cuda", "fp32"), ("cuda", "bf16")]  # the first is the reference
REFERENCE_FRAMES = 6  # frames tracked on the CPU for the comparison


def synchronize() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def sync_time(fn) -> float:
    synchronize()
    start = time.perf_counter()
    fn()
    synchronize()
    return time.perf_counter() - start


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def image_check(checkpoint: Path, photo: np.ndarray) -> dict:
    results, reference = {}, None
    height, width = photo.shape[:2]
    point = dict(
        point_coords=np.array([[0.5 * width, 0.45 * height]]), point_labels=np.array([1]), multimask_output=False
    )
    for index, (device, precision) in enumerate(RUNS):
        predictor = ImagePredictor(load_model(checkpoint, device=device, precision=precision))
        predictor.set_image(photo)  # warm-up (cuDNN autotuning, allocator)
        entry = {}
        if index > 0:
            entry["set_image_ms"] = 1000 * float(
                np.median([sync_time(lambda p=predictor: p.set_image(photo)) for _ in range(5)])
            )
            predictor.predict(**point)
            entry["click_ms"] = 1000 * float(
                np.median([sync_time(lambda p=predictor: p.predict(**point)) for _ in range(20)])
            )
        logits = predictor.predict(**point, return_logits=True)[2]
        if index == 0:
            reference = logits
            continue
        entry["max_logit_diff_vs_cpu_fp32"] = float(np.abs(logits - reference).max())
        entry["mask_iou_vs_cpu_fp32"] = iou(logits > 0, reference > 0)
        results[f"{device}-{precision}"] = entry
    return results


def track_check(checkpoint: Path, frames_dir: Path, frames: int) -> dict:
    results, reference = {}, {}
    for index, (device, precision) in enumerate(RUNS):
        model = load_model(checkpoint, device=device, precision=precision)
        tracker = VideoTracker(model, frames_dir)
        tracker.add_prompt(0, 1, points=[[300.0, 200.0]], labels=[1])
        tracker.add_prompt(0, 2, box=[500.0, 150.0, 600.0, 400.0])
        count = REFERENCE_FRAMES if index == 0 else frames
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        times, peaks, diffs, ious = [], {}, [], []
        started = time.perf_counter()
        for frame, _, logits in tracker.propagate(0, max_frames=count - 1):
            synchronize()
            if device == "cuda" and frame in (10, count - 1):
                peaks[frame] = torch.cuda.max_memory_allocated() / 2**20
            times.append(time.perf_counter() - started)
            started = time.perf_counter()
            if index == 0:
                reference[frame] = logits
            elif frame in reference:
                diffs.append(float(np.abs(logits - reference[frame]).max()))
                ious.append(min(iou(logits[i] > 0, reference[frame][i] > 0) for i in range(len(logits))))
        tracker.close()
        if index > 0:
            results[f"{device}-{precision}"] = {
                "s_per_frame_from_8": float(np.median(times[8:])),
                "frames": len(times),
                "peak_cuda_mb": {str(k): round(v, 1) for k, v in peaks.items()},
                "max_logit_diff_vs_cpu_fp32_reference_frames": max(diffs),
                "min_mask_iou_vs_cpu_fp32_reference_frames": min(ious),
            }
    return results


def session_check(checkpoint: Path, frames_dir: Path, folder: Path) -> dict:
    with Session(
        frames_dir, project_folder=folder / "project", model=checkpoint, device=DEVICE, precision="bf16"
    ) as session:
        mask = session.add_point(300, 200)
        session.finish_object("person")
        done = session.track("forward", end=9)
        out = session.export("coco", folder / "coco")
        return {
            "first_mask_pixels": int(mask.sum()),
            "tracked_frames": len(done),
            "stored_masks": session.store.count_masks(),
            "export": out.name,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frames_dir", type=Path)
    parser.add_argument("photo", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--variants", default="sam2.1-tiny,sam2.1-large")
    parser.add_argument("--device", default="cuda", help="cpu runs the same checks here (a dry run of this script)")
    args = parser.parse_args()
    global DEVICE, RUNS
    DEVICE = args.device
    RUNS = [("cpu", "fp32"), (DEVICE, "fp32"), (DEVICE, "bf16")]
    photo = np.asarray(Image.open(args.photo).convert("RGB"))
    report = {"gpu": torch.cuda.get_device_name(0) if DEVICE == "cuda" else "cpu", "torch": torch.__version__}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for variant in args.variants.split(","):
            checkpoint = random_checkpoint(variant, tmp)
            report[f"image {variant}"] = image_check(checkpoint, photo)
            print(json.dumps({variant: report[f"image {variant}"]}, indent=1), flush=True)
            present = random_checkpoint(variant, tmp, present=True)
            report[f"track {variant}"] = track_check(present, args.frames_dir, args.frames)
            print(json.dumps({variant: report[f"track {variant}"]}, indent=1), flush=True)
        tiny = random_checkpoint("sam2.1-tiny", tmp, present=True)
        report["session sam2.1-tiny cuda bf16"] = session_check(tiny, args.frames_dir, tmp)
        print(json.dumps(report["session sam2.1-tiny cuda bf16"]), flush=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
