"""Video benchmark: track one object, official SAM2VideoPredictor (fp32) vs VideoTracker (fp32, bf16).

Usage: python benchmarks/video.py [--frames 30] [--long 0] [--variant sam2.1-tiny]

Each implementation runs in its own process on the same random-weight checkpoint and the same frames
(vtest.avi from opencv-doc; the official predictor gets them as a JPEG folder, which it loads whole at
init_state). Prints seconds per frame once the memory bank is full (frame 8 on) and resident memory
(RSS) growth per frame over frames 12..end. --long N also tracks N frames with ours in bf16 to show
that RSS stays flat.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import rss_mb, steady_median

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / "tests" / "data" / "opencv" / "vtest.avi"
POINT = [[300.0, 200.0]]


def run_one(kind: str, checkpoint: Path, frames_dir: Path, frames: int) -> dict:
    import torch

    torch.set_num_threads(2)
    sys.path.insert(0, str(ROOT / "tests"))
    times, rss = [], []
    start_rss = rss_mb()
    if kind == "official":
        from reference import OFFICIAL_CONFIGS, official

        build = official().build_sam2_video_predictor
        model = build(
            OFFICIAL_CONFIGS[VARIANT],
            ckpt_path=str(checkpoint),
            device="cpu",
            hydra_overrides_extra=["++model.fill_hole_area=0"],
        )
        opened = time.perf_counter()
        state = model.init_state(str(frames_dir))
        open_seconds = time.perf_counter() - opened
        model.add_new_points_or_box(state, 0, 1, points=np.array(POINT, np.float32), labels=np.array([1], np.int32))
        stream = model.propagate_in_video(state)
    else:
        from anymask.sam2 import load_checkpoint
        from anymask.tracking import VideoTracker

        model = load_checkpoint(checkpoint).set_precision(kind)
        opened = time.perf_counter()
        tracker = VideoTracker(model, VIDEO, fill_hole_area=0)
        open_seconds = time.perf_counter() - opened
        tracker.add_prompt(0, 1, points=POINT, labels=[1])
        stream = tracker.propagate(max_frames=frames - 1)
    tick = time.perf_counter()
    for frame, _, _ in stream:
        now = time.perf_counter()
        times.append(now - tick)
        rss.append(rss_mb())
        tick = now
        if frame + 1 >= frames:
            break
    return {"kind": kind, "open_s": open_seconds, "times": times, "rss": rss, "start_rss": start_rss}


def summary(result: dict) -> str:
    times, rss = result["times"], result["rss"]
    steady = steady_median(times)
    growth = (rss[-1] - rss[12]) / (len(rss) - 1 - 12) if len(rss) > 14 else float("nan")
    return (
        f"{result['kind']:<9} open {result['open_s']:6.2f} s   {steady:5.2f} s/frame ({1 / steady:.2f} fps)   "
        f"RSS {rss[0]:6.0f} -> {rss[-1]:6.0f} MB, {growth:+.2f} MB/frame after frame 12"
    )


def main() -> None:
    global VARIANT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--long", type=int, default=0)
    parser.add_argument("--variant", default="sam2.1-tiny")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "CHECKPOINT", "FRAMES_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    VARIANT = args.variant
    if args.child:
        kind, checkpoint, frames_dir = args.child
        print(json.dumps(run_one(kind, Path(checkpoint), Path(frames_dir), args.frames)))
        return
    sys.path.insert(0, str(ROOT / "tests"))
    from PIL import Image

    from anymask.media import open_source

    from reference import build_official, save_official_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        checkpoint = save_official_checkpoint(build_official(args.variant, object_bias=6.0), tmp / "random.pt")
        frames_dir = tmp / "frames"
        frames_dir.mkdir()
        source = open_source(VIDEO)
        for index in range(args.frames):
            Image.fromarray(source.frame(index)).save(frames_dir / f"{index:05d}.jpg", quality=95)
        print(
            f"{args.variant}, {VIDEO.name} {source.frame_size()[1]}x{source.frame_size()[0]}, {args.frames} frames, "
            "one object, 2 threads"
        )
        results = {}
        for kind in ("official", "fp32", "bf16"):
            output = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--frames",
                    str(args.frames),
                    "--variant",
                    args.variant,
                    "--child",
                    kind,
                    str(checkpoint),
                    str(frames_dir),
                ],
                capture_output=True,
                text=True,
            )
            if output.returncode:
                sys.exit(f"{kind} failed:\n{output.stderr[-2000:]}")
            results[kind] = json.loads(output.stdout.strip().splitlines()[-1])
            print(summary(results[kind]), flush=True)
        base = np.median(results["official"]["times"][8:])
        for kind in ("fp32", "bf16"):
            print(f"{kind} speed-up over official fp32: {base / np.median(results[kind]['times'][8:]):.2f}x")
        if args.long:
            output = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--frames",
                    str(args.long),
                    "--variant",
                    args.variant,
                    "--child",
                    "bf16",
                    str(checkpoint),
                    str(frames_dir),
                ],
                capture_output=True,
                text=True,
            )
            long_run = json.loads(output.stdout.strip().splitlines()[-1])
            print("long run:", summary(long_run))


if __name__ == "__main__":
    main()
