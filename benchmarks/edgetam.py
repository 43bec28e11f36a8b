"""EdgeTAM benchmark: official EdgeTAM vs ours EdgeTAM vs ours sam2.1-tiny, in one run on one machine.

Usage: python benchmarks/edgetam.py [--frames 20] [--objects 1 3] [--precision auto] [--long 120]

Every figure comes from its own process on the same random-weight checkpoints (speed does not depend on
the weights) and the same frames of vtest.avi (opencv-doc), 2 threads. The official EdgeTAM (PyPI
edgetam-dimos) runs in build/edgetam-venv (scripts/edgetam_venv.sh) in fp32, its only CPU precision; ours
run at --precision (auto: bf16 where the CPU has native BF16, else fp32). Reported: set_image and
click -> mask (medians), tracking seconds per frame once the memory bank is full (median over frames 8+)
for each object count, per object-frame, and with --long N our EdgeTAM's RSS over N frames and its slope
after frame 20. The CPU capability is printed beside every figure.
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
from common import median_seconds, rss_mb, steady_median
from official_process import default_heap_environment

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / "tests" / "data" / "opencv" / "vtest.avi"
PHOTO = ROOT / "tests" / "data" / "opencv" / "fruits.jpg"
VENV_PYTHON = ROOT / "build" / "edgetam-venv" / "bin" / "python"
POINTS = [[300.0, 200.0], [520.0, 380.0], [120.0, 300.0]]


def _official_models(checkpoint: str):
    """The official EdgeTAM image and video predictors (only inside build/edgetam-venv)."""
    sys.path.insert(0, str(ROOT / "tests" / "edgetam"))
    import torchvision_stand_in

    torchvision_stand_in.install()
    from official_run import patch_perceiver  # EdgeTAM issue 15: it fails for two objects or more

    patch_perceiver()
    import sam2.modeling.backbones.timm as timm_backbone
    from sam2.build_sam import build_sam2, build_sam2_video_predictor
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    create = timm_backbone.create_model
    timm_backbone.create_model = lambda *a, **k: create(*a, **{**k, "pretrained": False})
    image = SAM2ImagePredictor(build_sam2("configs/edgetam.yaml", ckpt_path=checkpoint, device="cpu"))
    video = build_sam2_video_predictor("configs/edgetam.yaml", ckpt_path=checkpoint, device="cpu")
    video.fill_hole_area = 0
    return image, video


def _image_figures(predictor, photo: np.ndarray) -> dict:
    point, label = np.array([[0.4 * photo.shape[1], 0.5 * photo.shape[0]]]), np.array([1])
    predictor.set_image(photo)  # warm-up
    set_image = median_seconds(lambda: predictor.set_image(photo), 3)
    click = median_seconds(lambda: predictor.predict(point_coords=point, point_labels=label), 5)
    return {"set_image_s": set_image, "click_s": click}


def _track(prompt, stream, objects: int, frames: int) -> dict:
    for obj in range(objects):
        prompt(obj + 1, np.array([POINTS[obj]], np.float32), np.array([1], np.int32))
    times, rss = [], []
    tick = time.perf_counter()
    for index, _ in enumerate(stream()):
        now = time.perf_counter()
        times.append(now - tick)
        rss.append(rss_mb())
        tick = now
        if index + 1 >= frames:
            break
    return {"times": times, "rss": rss}


def run_worker(kind: str, checkpoint: str, frames_dir: str, frames: int, objects: int, precision: str) -> dict:
    import torch

    torch.set_num_threads(2)
    photo = np.asarray(__import__("PIL.Image").Image.open(PHOTO).convert("RGB"))
    result = {"kind": kind, "capability": torch.backends.cpu.get_cpu_capability(), "objects": objects}
    with torch.inference_mode():
        if kind == "official":
            image, video = _official_models(checkpoint)
            result["precision"] = "fp32"
            result.update(_image_figures(image, photo) if objects == 1 else {})
            state = video.init_state(frames_dir)

            def prompt(obj, points, labels):
                video.add_new_points_or_box(state, 0, obj, points=points, labels=labels)

            result.update(_track(prompt, lambda: video.propagate_in_video(state), objects, frames))
            return result
        from anymask.image_predictor import ImagePredictor
        from anymask.models import load_model
        from anymask.tracking import VideoTracker

        model = load_model(checkpoint, precision=precision)
        result["precision"] = model.precision
        result.update(_image_figures(ImagePredictor(model), photo) if objects == 1 else {})
        tracker = VideoTracker(model, VIDEO, fill_hole_area=0)

        def prompt(obj, points, labels):
            tracker.add_prompt(0, obj, points=points, labels=labels, only_prompted=True)

        result.update(_track(prompt, lambda: tracker.propagate(max_frames=frames - 1), objects, frames))
        return result


def _steady(result: dict) -> float:
    return steady_median(result["times"])


def _spawn(python: Path, kind: str, checkpoint: Path, frames_dir: Path, frames: int, objects: int, precision: str):
    command = [str(python), __file__, "--worker", kind, str(checkpoint), str(frames_dir)]
    command += ["--frames", str(frames), "--objects", str(objects), "--precision", precision]
    # the official package runs with glibc's default heap, as a user runs it: `import anymask` would tune it
    env = default_heap_environment() if kind == "official" else None
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode:
        sys.exit(f"{kind} with {objects} object(s) failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _write_frames(folder: Path, count: int) -> None:
    from PIL import Image

    from anymask.media import open_source

    source = open_source(VIDEO)
    for index in range(count):
        Image.fromarray(source.frame(index)).save(folder / f"{index:05d}.jpg", quality=95)


def _print_table(results: dict, object_counts: list[int]) -> None:
    print(
        "\n| [capability] model | precision | set_image | click -> mask | "
        + " | ".join(f"{n} obj s/frame | s/object-frame" for n in object_counts)
        + " |"
    )
    print("|---" * (3 + 2 * len(object_counts) + 1) + "|")
    for kind, runs in results.items():
        first = runs[object_counts[0]]
        cells = [f"[{first['capability']}] {kind}", first["precision"]]
        cells += [
            f"{first.get('set_image_s', float('nan')):.2f} s",
            f"{1000 * first.get('click_s', float('nan')):.1f} ms",
        ]
        for n in object_counts:
            cells += [f"{_steady(runs[n]):.2f}", f"{_steady(runs[n]) / n:.2f}"]
        print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--objects", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--long", type=int, default=0, help="also track N frames with ours EdgeTAM for RSS")
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "CHECKPOINT", "FRAMES_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, checkpoint, frames_dir = args.worker
        result = run_worker(kind, checkpoint, frames_dir, args.frames, args.objects[0], args.precision)
        print(json.dumps(result))
        return
    if not VENV_PYTHON.is_file():
        sys.exit("build/edgetam-venv is missing: run scripts/edgetam_venv.sh")
    from anymask.bench import random_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        checkpoints = {name: random_checkpoint(name, tmp, present=True) for name in ("edgetam", "sam2.1-tiny")}
        frames_dir = tmp / "frames"
        frames_dir.mkdir()
        _write_frames(frames_dir, args.frames)
        print(f"vtest.avi 768x576, {args.frames} frames, 2 threads, ours at --precision {args.precision}")
        runs = (
            ("official EdgeTAM", VENV_PYTHON, "official", checkpoints["edgetam"]),
            ("ours EdgeTAM", Path(sys.executable), "ours", checkpoints["edgetam"]),
            ("ours sam2.1-tiny", Path(sys.executable), "ours", checkpoints["sam2.1-tiny"]),
        )
        results: dict = {}
        for objects in args.objects:
            for label, python, kind, checkpoint in runs:
                result = _spawn(python, kind, checkpoint, frames_dir, args.frames, objects, args.precision)
                results.setdefault(label, {})[objects] = result
                extra = (
                    f", set_image {result['set_image_s']:.2f} s, click {1000 * result['click_s']:.1f} ms"
                    if objects == 1
                    else ""
                )
                print(
                    f"[{result['capability']}] {label} {result['precision']}, {objects} object(s): "
                    f"{_steady(result):.2f} s/frame{extra}",
                    flush=True,
                )
        _print_table(results, args.objects)
        ours, tiny, official = (
            results[k][args.objects[0]] for k in ("ours EdgeTAM", "ours sam2.1-tiny", "official EdgeTAM")
        )
        capability = ours["capability"]
        print(
            f"\n[{capability}] ours EdgeTAM vs ours sam2.1-tiny per object-frame: "
            f"{_steady(tiny) / _steady(ours):.2f}x faster"
        )
        print(f"[{capability}] ours EdgeTAM vs official EdgeTAM: {_steady(official) / _steady(ours):.2f}x faster")
        if args.long:
            _write_frames(frames_dir, args.long)
            long_run = _spawn(
                Path(sys.executable), "ours", checkpoints["edgetam"], frames_dir, args.long, 1, args.precision
            )
            rss = long_run["rss"]
            slope = np.polyfit(np.arange(20, len(rss)), rss[20:], 1)[0] if len(rss) > 40 else float("nan")
            print(
                f"[{long_run['capability']}] ours EdgeTAM over {len(rss)} frames: "
                f"RSS {rss[0]:.0f} -> {rss[-1]:.0f} MB, "
                f"slope after frame 20 {slope:+.3f} MB/frame, {_steady(long_run):.2f} s/frame"
            )


if __name__ == "__main__":
    main()
