"""Batch benchmark: `anymask batch` on Ray (1 and 2 workers) against a plain loop of `anymask track`.

Usage: python benchmarks/batch.py [--clips 4] [--frames 8] [--precision auto] [--repeats 1]

Makes N short real clips (H.264, from the sample videos in tests/data/opencv), one prompted object each,
and a random-weight sam2.1-tiny checkpoint in the official format (random weights do not change speed).
Then, on this machine, in one run, alternating: the sequential loop (one `anymask track` process per clip,
torch's default threads), and `anymask batch` over the same clips with --workers 1 and --workers 2 (each
run starts its local Ray cluster, so its start-up is counted). Prints seconds, videos/min, and Ray's
overhead against the loop, with the CPU capability beside every figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_batch import write_video  # noqa: E402

from anymask.bench import random_checkpoint  # noqa: E402

MEDIA = ROOT / "tests" / "data" / "opencv"
SOURCES = ("vtest.avi", "tree.avi", "Megamind.avi")


def anymask(*args) -> float:
    begun = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "anymask.cli", *map(str, args)], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"anymask {args[0]} failed:\n{result.stderr}")
    return time.perf_counter() - begun


def make_clips(folder: Path, count: int, frames: int) -> Path:
    videos = []
    for index in range(count):
        source = SOURCES[index % len(SOURCES)]
        clip = write_video(MEDIA / source, folder / f"clip{index}.mp4", count=frames, step=2 + index)
        prompts = {"objects": [{"id": 1, "label": "thing", "frame": 0, "points": [[200, 150, 1]]}]}
        (folder / f"clip{index}.prompts.json").write_text(json.dumps(prompts))
        videos.append({"path": clip.name, "prompts": f"clip{index}.prompts.json"})
    manifest = folder / "manifest.json"
    manifest.write_text(json.dumps({"videos": videos}))
    return manifest


def sequential(folder: Path, count: int, model: list, out: Path) -> float:
    begun = time.perf_counter()
    for index in range(count):
        clip = folder / f"clip{index}.mp4"
        prompts = folder / f"clip{index}.prompts.json"
        anymask(
            "track", clip, "--prompts", prompts, "--out", out / f"clip{index}", "--format", "coco", "--quiet", *model
        )
    return time.perf_counter() - begun


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    cap = torch.backends.cpu.get_cpu_capability()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        checkpoint = random_checkpoint("sam2.1-tiny", folder, present=True)
        manifest = make_clips(folder, args.clips, args.frames)
        model = ["--model", checkpoint, "--precision", args.precision]
        times: dict[str, list[float]] = {"loop of anymask track": [], "batch --workers 1": [], "batch --workers 2": []}
        for repeat in range(args.repeats):
            times["loop of anymask track"].append(sequential(folder, args.clips, model, folder / f"seq{repeat}"))
            for workers in (1, 2):
                out = folder / f"batch{workers}-{repeat}"
                times[f"batch --workers {workers}"].append(
                    anymask("batch", manifest, "--out", out, "--workers", workers, "--quiet", *model)
                )
    print(
        f"[{cap}] {args.clips} clips x {args.frames} frames, 1 object, sam2.1-tiny random weights, "
        f"precision {args.precision}, {torch.get_num_threads()} cores, median of {args.repeats}"
    )
    base = statistics.median(times["loop of anymask track"])
    for name, values in times.items():
        seconds = statistics.median(values)
        print(
            f"[{cap}] {name:<22} {seconds:7.1f} s  {60 * args.clips / seconds:5.2f} videos/min  "
            f"{100 * (seconds - base) / base:+6.1f}% against the loop"
        )


if __name__ == "__main__":
    main()
