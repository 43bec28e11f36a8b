"""CPU benchmark: official SAM 2 fp32 against ours at `auto` and in the `fast` mode, on the same weights.

Usage: python benchmarks/cpu_speed.py [--variant sam2.1-tiny] [--frames 14] [--repeats 5] [--threads 2]

Measures, in one run on one machine: set_image and one click -> mask (interleaved repeats, medians), and
seconds per tracked frame for one object on vtest.avi once the memory bank is full (frame 8 on; the
implementations take turns frame by frame, and each ratio is the median of per-frame ratios). The
official package runs in a process of its own with glibc's default heap, as a user runs it, taking turns
with ours (benchmarks/official_process.py): in ours, `import anymask` tunes the heap for the whole
process. Then the fast mode's accuracy against ours fp32: mask IoU and logit error on three photos x
three prompts, and on every tracked frame. Random weights give small logits, so these agreement figures
are pessimistic: real checkpoints separate object from background far more.
The CPU capability (torch's kernel level) is printed beside every figure. To see what an AVX2-only CPU
does on an AVX-512 machine, run with ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
FBGEMM_ENABLE_INSTRUCTIONS=AVX2 (every kernel library then stays on AVX2).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import torch
from common import STEADY_FROM, steady_median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from image import PHOTO, bf16_agreement, clicks, load_photo, mask_iou, timed  # noqa: E402
from official_process import OfficialProcess  # noqa: E402

VIDEO = ROOT / "tests" / "data" / "opencv" / "vtest.avi"
POINT = [[300.0, 200.0]]
CLICKS_PER_ROUND = 5


def capability() -> str:
    return torch.backends.cpu.get_cpu_capability()


def open_stream(kind: str, official: OfficialProcess, checkpoint: Path, frames_dir: Path, frames: int):
    """One implementation tracking one object: an iterator of (seconds, low-res logits) per frame (logits
    None for the official package, whose logits are not compared), and the seconds it took to open the video."""
    if kind == "official":
        open_s = official.open_video(frames_dir, POINT, frames)
        return ((official.next_frame(), None) for _ in range(frames)), open_s
    from anymask import load_model
    from anymask.tracking import VideoTracker

    model = load_model(checkpoint, precision=kind)
    opened = time.perf_counter()
    tracker = VideoTracker(model, frames_dir, fill_hole_area=0)
    open_s = time.perf_counter() - opened
    tracker.add_prompt(0, 1, points=POINT, labels=[1])
    return _timed(tracker.propagate(max_frames=frames - 1)), open_s


def _timed(frames):
    """(seconds, logits) for each (index, ids, logits) a tracker yields."""
    while True:
        tick = time.perf_counter()
        try:
            _, _, out_logits = next(frames)
        except StopIteration:
            return
        yield time.perf_counter() - tick, np.asarray(out_logits[0], np.float32)


def run_tracking(kinds: list[str], official: OfficialProcess, args, checkpoint: Path, frames_dir: Path):
    """The implementations take turns, one frame each (A B C D A B C D ...; the official in its own process,
    ours in this one), so a noisy neighbour slows them alike; the ratio to the official is the median of
    per-frame ratios."""
    streams, results = {}, {}
    for kind in kinds:
        streams[kind], open_s = open_stream(kind, official, checkpoint, frames_dir, args.frames)
        results[kind] = {"times": [], "logits": [], "open_s": open_s}
    for _ in range(args.frames):
        for kind, stream in streams.items():
            seconds, logits = next(stream)
            results[kind]["times"].append(seconds)
            if logits is not None:
                results[kind]["logits"].append(logits)
    official = np.array(results["official"]["times"])
    for kind, result in results.items():
        times = np.array(result["times"])
        result["s_per_frame"] = steady_median(times)
        result["ratio"] = steady_median(times / official)
        result["logits"] = np.array(result["logits"])
        print(
            f"[{capability()}] tracking, one object, {kind:<9} {result['s_per_frame']:6.2f} s/frame, "
            f"{result['ratio']:.2f}x the official (medians from frame {STEADY_FROM}; "
            f"opening the video took {result['open_s']:.2f} s)",
            flush=True,
        )
    return results


def image_timings(ours: dict, official: OfficialProcess, repeats: int) -> dict[str, dict[str, float]]:
    """Medians over `repeats` rounds, each the official's set_image and 5 clicks, then each of ours in turn."""
    image = load_photo(PHOTO)
    click = clicks(image.shape[1], image.shape[0])[0]
    official.load_image(image)
    official.set_image(), official.click(click)  # warm-up
    for predictor in ours.values():
        predictor.set_image(image), predictor.predict(**click)
    times = {name: {"set_image": [], "click": []} for name in ["official fp32", *ours]}
    for _ in range(repeats):
        times["official fp32"]["set_image"].append(official.set_image())
        times["official fp32"]["click"] += [official.click(click) for _ in range(CLICKS_PER_ROUND)]
        for name, predictor in ours.items():
            times[name]["set_image"].append(timed(lambda p=predictor: p.set_image(image)))
            times[name]["click"] += [timed(lambda p=predictor: p.predict(**click)) for _ in range(CLICKS_PER_ROUND)]
    medians = {name: {k: float(np.median(v)) for k, v in t.items()} for name, t in times.items()}
    for name, m in medians.items():
        print(
            f"[{capability()}] {name:<22} set_image {m['set_image']:6.3f} s   click {1000 * m['click']:7.1f} ms",
            flush=True,
        )
    return medians


def image_agreement(exact, fast) -> tuple[list[float], list[float]]:
    """Mask IoU and relative mean |logit error| of `fast` against `exact` over photos x prompts."""
    ious, errors, scales = bf16_agreement(exact, fast)
    return ious, [error / max(1e-9, scale) for error, scale in zip(errors, scales)]


def tracking_agreement(exact: np.ndarray, fast: np.ndarray) -> tuple[list[float], list[float]]:
    ious = [mask_iou(a > 0, b > 0) for a, b in zip(exact, fast)]
    errors = [float(np.abs(a - b).mean() / max(1e-9, np.abs(a).mean())) for a, b in zip(exact, fast)]
    return ious, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="sam2.1-tiny")
    parser.add_argument("--frames", type=int, default=14, help=f"frames tracked (more than {STEADY_FROM})")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.frames <= STEADY_FROM:
        parser.error(
            f"--frames must be more than {STEADY_FROM}: tracking is timed from frame {STEADY_FROM} on, "
            "once the memory bank is full"
        )
    torch.set_num_threads(args.threads)
    from PIL import Image

    from anymask import ImagePredictor, load_model
    from anymask.media import open_source
    from anymask.models.precision import PrecisionWarning, device_summary, resolve_precision

    from reference import build_official, install_torchvision_stand_in, save_official_checkpoint

    install_torchvision_stand_in()
    # the fast mode is measured on purpose, also where bf16 is native and the library warns that it is slower
    warnings.filterwarnings("ignore", category=PrecisionWarning)
    auto = resolve_precision("auto", "cpu")
    print(f"{device_summary('cpu')}; {args.variant}, random weights; auto -> {auto.describe()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        folder = Path(tmp)
        checkpoint = save_official_checkpoint(build_official(args.variant, object_bias=6.0), folder / "random.pt")
        official = stack.enter_context(OfficialProcess(args.variant, checkpoint, args.threads))
        if official.heap_tuned:
            sys.exit("the official process runs with anymask's heap settings; it must have glibc's defaults")
        predictors = {
            f"ours auto ({auto.precision})": ImagePredictor(load_model(checkpoint, precision="auto")),
            "ours fast": ImagePredictor(load_model(checkpoint, precision="fast")),
        }
        images = image_timings(predictors, official, args.repeats)
        exact = (
            predictors["ours auto (fp32)"]
            if auto.precision == "fp32"
            else ImagePredictor(load_model(checkpoint, precision="fp32"))
        )
        image_ious, image_errors = image_agreement(exact, predictors["ours fast"])
        del predictors, exact
        frames_dir = folder / "frames"
        frames_dir.mkdir()
        source = open_source(VIDEO)
        for index in range(args.frames):
            Image.fromarray(source.frame(index)).save(frames_dir / f"{index:05d}.jpg", quality=95)
        kinds = ["official", "auto", "fast"] + (["fp32"] if auto.precision != "fp32" else [])
        tracks = run_tracking(kinds, official, args, checkpoint, frames_dir)
    reference = tracks["fp32" if "fp32" in tracks else "auto"]["logits"]
    track_ious, track_errors = tracking_agreement(reference, tracks["fast"]["logits"])
    report(images, tracks, auto.precision, (image_ious, image_errors), (track_ious, track_errors))


def report(images, tracks, auto_precision, image_agreement_, track_agreement_) -> None:
    cap = capability()
    official = images["official fp32"]
    print(f"\n| [{cap}] | set_image | ratio | click | ratio | tracking s/frame | ratio |")
    print("|---|---|---|---|---|---|---|")
    names = {"official fp32": "official", f"ours auto ({auto_precision})": "auto", "ours fast": "fast"}
    for name, kind in names.items():
        m = images[name]
        track, ratio = tracks[kind]["s_per_frame"], tracks[kind]["ratio"]
        print(
            f"| {name} | {m['set_image']:.2f} s | {m['set_image'] / official['set_image']:.2f}x | "
            f"{1000 * m['click']:.1f} ms | {m['click'] / official['click']:.2f}x | "
            f"{track:.2f} | {ratio:.2f}x |"
        )
    for label, (ious, errors) in (
        ("image (3 photos x 3 prompts)", image_agreement_),
        (f"tracking ({len(track_agreement_[0])} frames)", track_agreement_),
    ):
        print(
            f"[{cap}] fast vs fp32, {label}: mask IoU median {np.median(ious):.4f}, min {np.min(ious):.4f}; "
            f"relative logit error median {np.median(errors):.4f} (random weights: pessimistic)"
        )


if __name__ == "__main__":
    main()
