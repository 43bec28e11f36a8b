"""Where tracking time goes on a GPU: wall seconds per frame against the GPU's own busy time per frame.

Usage: PYTHONPATH=src python benchmarks/cuda_tracking.py FRAMES_DIR [--variant sam2.1-tiny] [--frames 40]
       [--profile]

Tracks two objects (a click and a box) through a JPEG folder in bf16 on CUDA with random weights (plus
the occlusion bias, so objects are present). Prints the median wall time per frame from frame 8 on, the
CUDA kernel time per frame over 10 frames (torch.profiler), and with --profile the host functions that
took longest (cProfile). When wall time is well above kernel time, the host is the limit.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

import torch

try:
    import av  # noqa: F401
except ImportError:  # GPU images may lack PyAV; this benchmark reads JPEG folders only
    sys.modules["av"] = types.ModuleType("av")

from anymask import load_model
from anymask.bench import random_checkpoint
from anymask.tracking import VideoTracker


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frames_dir", type=Path)
    parser.add_argument("--variant", default="sam2.1-tiny")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--device", default="cuda", help="cpu: a dry run of this script (no kernel times)")
    args = parser.parse_args()
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    with tempfile.TemporaryDirectory() as tmp:
        model = load_model(
            random_checkpoint(args.variant, Path(tmp), present=True), device=args.device, precision="bf16"
        )
        tracker = VideoTracker(model, args.frames_dir)
        tracker.add_prompt(0, 1, points=[[300.0, 200.0]], labels=[1])
        tracker.add_prompt(0, 2, box=[500.0, 150.0, 600.0, 400.0])
        frames = tracker.propagate(0, max_frames=args.frames - 1)
        times, last = [], time.perf_counter()
        for index, _ in enumerate(frames):
            sync()
            now = time.perf_counter()
            times.append(now - last)
            last = now
            if index == 9:
                break
        activities = [
            torch.profiler.ProfilerActivity.CUDA if args.device == "cuda" else torch.profiler.ProfilerActivity.CPU
        ]
        with torch.profiler.profile(activities=activities) as profiler:
            for index, _ in enumerate(frames):
                if index == 9:
                    break
            sync()
        kernel_ms = sum(e.self_device_time_total for e in profiler.key_averages()) / 1000 / 10  # 0 on the CPU
        host = cProfile.Profile() if args.profile else None
        last = time.perf_counter()
        if host:
            host.enable()
        for _ in frames:
            sync()
            now = time.perf_counter()
            times.append(now - last)
            last = now
        if host:
            host.disable()
        tracker.close()
    report = {
        "variant": args.variant,
        "wall_ms_per_frame": round(1000 * statistics.median(times[8:]), 1),
        "cuda_kernel_ms_per_frame": round(kernel_ms, 1),
        "frames": len(times) + 10,
    }
    print(json.dumps(report))
    if host:
        text = io.StringIO()
        pstats.Stats(host, stream=text).sort_stats("tottime").print_stats(18)
        print(text.getvalue())


if __name__ == "__main__":
    main()
