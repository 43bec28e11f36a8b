"""Export scale benchmark: a project of many objects x frames (fragmented 720p masks), each format timed.

Usage: python benchmarks/export_scale.py [--objects 50] [--frames 200] [--formats coco yolo-seg voc ...]

Builds a project store of objects x frames masks written through ProjectStore (each object a blob broken
into fragments, like the masks random weights give, which are harder than real ones), over a synthetic
720p image folder. Then exports every format in a fresh process each and reports seconds, that
process's peak RSS and its largest polygon worker's, with the CPU capability printed beside the figures.
Formats that trace polygons are exported twice: the second time the polygons come from the project's
cache. Run it under `taskset -c 0` to see what one core gives.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

HEIGHT, WIDTH = 720, 1280


def fragmented_mask(rng: np.random.Generator) -> np.ndarray:
    cy, cx = rng.integers(100, HEIGHT - 100), rng.integers(100, WIDTH - 100)
    ry, rx = rng.integers(30, 120), rng.integers(30, 160)
    ys, xs = np.ogrid[:HEIGHT, :WIDTH]
    blob = ((ys - cy) / ry) ** 2 + ((xs - cx) / rx) ** 2 <= 1
    noise = rng.random((HEIGHT // 8, WIDTH // 8)) > 0.35
    return blob & np.repeat(np.repeat(noise, 8, axis=0), 8, axis=1)


def build(folder: Path, objects: int, frames: int) -> Path:
    from anymask.annotations import rle
    from anymask.project import ProjectStore

    images = folder / "frames"
    images.mkdir()
    for index in range(frames):
        Image.new("RGB", (WIDTH, HEIGHT), (index % 255, 80, 120)).save(images / f"{index:05d}.jpg")
    rng = np.random.default_rng(0)
    with ProjectStore.open(folder / "project", images) as store:
        for object_id in range(1, objects + 1):
            store.add_object(f"class{object_id % 5}", object_id)
        for frame in range(frames):
            items = [(o, rle.encode(fragmented_mask(rng)), 0.9, "tracked", None) for o in range(1, objects + 1)]
            store.put_masks(frame, items)
    return folder / "project"


EXPORT = """
import sys, time, resource
from anymask.annotations import trace_workers
from anymask.cli import main
peaks = [0.0]
close = trace_workers.TracePool.close
def close_and_measure(pool):  # each worker's own peak RSS (VmHWM), read before it exits
    for process in pool.processes:
        try:
            status = open(f"/proc/{process.pid}/status").read()
            peaks.append(int(status.split("VmHWM:")[1].split()[0]) / 1024)
        except (OSError, IndexError):
            pass
    close(pool)
trace_workers.TracePool.close = close_and_measure
begun = time.perf_counter()
code = main(["export", sys.argv[1], "--format", sys.argv[2], "--out", sys.argv[3], "--mode", sys.argv[4]])
print(time.perf_counter() - begun, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, max(peaks), code)
"""
TRACES = {"coco:polygon", "coco", "yolo-seg", "xanylabeling", "xanylabeling:polygon"}  # formats that trace polygons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=50)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument(
        "--formats",
        nargs="+",
        default=["coco:polygon", "coco:mask", "yolo-det", "yolo-seg", "voc", "mot", "mots", "davis", "xanylabeling"],
    )
    args = parser.parse_args()
    cap = torch.backends.cpu.get_cpu_capability()
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        begun = time.perf_counter()
        project = build(folder, args.objects, args.frames)
        print(f"[{cap}] built {args.objects * args.frames} masks in {time.perf_counter() - begun:.1f} s")
        print(f"[{cap}] {len(os.sched_getaffinity(0))} usable cores")
        for spec in args.formats:
            name, _, mode = spec.partition(":")
            runs = ("first", "again") if spec in TRACES else ("first",)  # again: polygons from the cache
            for run in runs:
                out = folder / f"out-{name}-{mode or 'polygon'}-{run}"
                result = subprocess.run(
                    [sys.executable, "-c", EXPORT, str(project), name, str(out), mode or "polygon"],
                    capture_output=True,
                    text=True,
                )
                if result.returncode != 0 or not result.stdout.strip():
                    print(f"[{cap}] {spec}: failed: {result.stderr.strip().splitlines()[-1:]}")
                    break
                seconds, rss, workers, _ = result.stdout.split()[-4:]
                print(
                    f"[{cap}] {spec:<14} {run:<5} {float(seconds):7.1f} s  peak RSS {float(rss):6.0f} MB"
                    + (f", each polygon worker {float(workers):4.0f} MB" if float(workers) else "")
                )


if __name__ == "__main__":
    main()
