"""Objects per pass: seconds per tracked frame for N objects, one by one (object_batch=1) and together.

Usage: python benchmarks/objects.py [--variants sam2.1-tiny edgetam] [--objects 1 4] [--frames 12]
       [--device cpu] [--precision auto] [--official] [--ways one-by-one together graphed compiled official
       official-vos] [--frames-dir DIR] [--timeout 600]

Each configuration runs in its own process on random weights (with the occlusion bias, so objects stay
present; speed does not depend on the weights) and the first frames of vtest.avi, 2 threads on the CPU.
Every object is a click on frame 0 at its own place. Reported: the median seconds per frame once the
memory bank is full (frames 8+), and per object-frame. --official adds the official SAM2VideoPredictor
(sam2 variants; fp32 on the CPU, its `precision` on CUDA through autocast). The device and CPU capability
are printed beside every figure. On a GPU use e.g. --device cuda --objects 1 4 16 --frames 40.

Ways: one-by-one (object_batch=1), together (batched by memory layout), graphed (memories padded to fixed
slots; on CUDA each frame replays a captured CUDA graph), compiled (graphed, with the step and the image
encoder compiled by torch.compile first), official (SAM2VideoPredictor), official-vos (the official
`vos_optimized=True` predictor: every part compiled with mode="max-autotune"). "setup" is loading the model,
opening the video and the prompts (the official predictor compiles its image encoder and decoder there);
"first 8 frames" is the time of the frames before the steady ones (compilation and graph capture happen there).
--frames-dir takes JPEG frames already extracted (a machine without PyAV); a run that passes --timeout
seconds is reported as such and the table goes on.
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
from common import STEADY_FROM, steady_median
from official_process import default_heap_environment

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / "tests" / "data" / "opencv" / "vtest.avi"
WAYS = ["one-by-one", "together", "graphed", "compiled", "official", "official-vos"]


def object_points(count: int) -> list[list[float]]:
    """`count` click positions spread over a 768x576 frame."""
    columns = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / columns))
    return [[768 * (0.5 + i % columns) / columns, 576 * (0.5 + i // columns) / rows] for i in range(count)]


def _timed(stream, frames: int, sync) -> list[float]:
    times, tick = [], time.perf_counter()
    for index, _ in enumerate(stream):
        sync()
        now = time.perf_counter()
        times.append(now - tick)
        tick = now
        if index + 1 >= frames:
            break
    return times


def run_worker(kind: str, checkpoint: str, frames_dir: str, objects: int, frames: int, device: str, precision: str):
    import torch

    if device == "cpu":
        torch.set_num_threads(2)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    points = object_points(objects)
    started = time.perf_counter()
    result = {"kind": kind, "objects": objects, "device": device, "capability": torch.backends.cpu.get_cpu_capability()}
    if kind in ("official", "official-vos"):
        sys.path.insert(0, str(ROOT / "tests"))
        from reference import OFFICIAL_CONFIGS, official

        variant = Path(checkpoint).name.split("-random")[0]
        model = official().build_sam2_video_predictor(
            OFFICIAL_CONFIGS[variant], ckpt_path=checkpoint, device=device, vos_optimized=kind == "official-vos"
        )
        model.fill_hole_area = 0
        state = model.init_state(frames_dir)
        for obj, point in enumerate(points, start=1):
            model.add_new_points_or_box(state, 0, obj, points=np.array([point], np.float32), labels=np.array([1]))
        autocast = device.startswith("cuda") and precision != "fp32"
        result["setup"] = time.perf_counter() - started
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            result["times"] = _timed(model.propagate_in_video(state), frames, sync)
        result["precision"] = "bf16 autocast" if autocast else "fp32"
        return result
    from anymask import load_model
    from anymask.tracking import VideoTracker

    model = load_model(checkpoint, device=device, precision=precision)
    object_batch = 1 if kind == "one-by-one" else 64
    step_mode = kind if kind in ("graphed", "compiled") else "eager"
    tracker = VideoTracker(model, frames_dir, fill_hole_area=0, object_batch=object_batch, step_mode=step_mode)
    for obj, point in enumerate(points, start=1):
        tracker.add_prompt(0, obj, points=[point], labels=[1], only_prompted=True)
    result["setup"] = time.perf_counter() - started
    result["times"] = _timed(tracker.propagate(max_frames=frames - 1), frames, sync)
    result["precision"] = model.precision
    tracker.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["sam2.1-tiny", "edgetam"])
    parser.add_argument("--objects", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--official", action="store_true")
    parser.add_argument("--ways", nargs="+", choices=WAYS, help="default: one-by-one together (official)")
    parser.add_argument("--frames-dir", type=Path, help="JPEG frames already extracted (instead of vtest.avi)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds one configuration may take")
    parser.add_argument(
        "--worker", nargs=4, metavar=("KIND", "CHECKPOINT", "FRAMES", "OBJECTS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.worker:
        kind, checkpoint, frames_dir, objects = args.worker
        result = run_worker(kind, checkpoint, frames_dir, int(objects), args.frames, args.device, args.precision)
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        frames_dir = args.frames_dir or extract_frames(tmp / "frames", args.frames)
        print(f"vtest.avi 768x576, {args.frames} frames, device {args.device}, precision {args.precision}")
        columns = f"s/frame | s/object-frame | setup, s | first {STEADY_FROM} frames, s"
        print(f"\n| model | objects | way | precision | {columns} |")
        print("|---|---|---|---|---|---|---|---|")
        from anymask.bench import random_checkpoint

        for variant in args.variants:
            checkpoint = random_checkpoint(variant, tmp, present=True)
            kinds = args.ways or ["one-by-one", "together"] + (["official"] if args.official else [])
            if variant == "edgetam":
                kinds = [kind for kind in kinds if not kind.startswith("official")]
            for objects in args.objects:
                for kind in kinds:
                    if kind == "together" and objects == 1 and "one-by-one" in kinds:
                        continue  # one object is one batch either way
                    print(run_configuration(args, variant, kind, checkpoint, frames_dir, objects), flush=True)


def extract_frames(folder: Path, count: int) -> Path:
    """The first `count` frames of vtest.avi as JPEGs (what the official predictor reads)."""
    from PIL import Image

    from anymask.media import open_source

    folder.mkdir()
    source = open_source(VIDEO)
    for index in range(count):
        Image.fromarray(source.frame(index)).save(folder / f"{index:05d}.jpg", quality=95)
    return folder


def run_configuration(args, variant: str, kind: str, checkpoint: Path, frames_dir: Path, objects: int) -> str:
    """One configuration in its own process: its table row."""
    command = [sys.executable, __file__, "--worker", kind, str(checkpoint), str(frames_dir), str(objects)]
    command += ["--frames", str(args.frames), "--device", args.device, "--precision", args.precision]
    # the test helpers import anymask, whose heap settings would speed the official package up too
    # (see official_process.py): it runs with glibc's defaults, as a user runs it
    env = default_heap_environment() if kind.startswith("official") else None
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout, env=env)
    except subprocess.TimeoutExpired:
        timed_out = f"timed out after {args.timeout:.0f} s"
        return f"| {variant} ({args.device}) | {objects} | {kind} | {args.precision} | {timed_out} | | | |"
    if done.returncode:
        sys.exit(f"{variant} {kind} {objects} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    where = result["device"] if result["device"] != "cpu" else f"cpu [{result['capability']}]"
    steady = steady_median(result["times"])
    first_frames = sum(result["times"][:STEADY_FROM])
    return (
        f"| {variant} ({where}) | {objects} | {kind} | {result['precision']} | {steady:.4f} | "
        f"{steady / objects:.4f} | {result['setup']:.1f} | {first_frames:.1f} |"
    )


if __name__ == "__main__":
    main()
