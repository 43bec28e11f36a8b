"""Image benchmark: set_image and one click -> mask, official SAM 2 (fp32) vs ours (fp32, bf16), same weights.

Usage: python benchmarks/image.py [--variant sam2.1-tiny] [--checkpoint FILE] [--repeats 7] [--profile]

Without --checkpoint the official model is built with seeded random weights and saved in the official
format (random weights do not change speed). Needs the official `sam2` package (see README, Tests).
Repeats are interleaved (official, ours fp32, ours bf16, official, ...) so drift in machine load hits
all three alike; medians are reported.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from anymask import ImagePredictor, load_model  # noqa: E402

from reference import build_official, install_torchvision_stand_in, save_official_checkpoint  # noqa: E402

PHOTO = ROOT / "tests" / "data" / "opencv" / "building.jpg"
IOU_PHOTOS = ["building.jpg", "fruits.jpg", "baboon.jpg"]


def load_photo(path: Path, size=(1024, 640)) -> np.ndarray:
    if not path.is_file():
        sys.exit(f"{path} missing: run scripts/fetch_test_media.sh")
    return np.asarray(Image.open(path).convert("RGB").resize(size, Image.BICUBIC))


def clicks(width: int, height: int) -> list[dict]:
    return [
        dict(point_coords=np.array([[0.5 * width, 0.45 * height]]), point_labels=np.array([1])),
        dict(
            point_coords=np.array([[0.3 * width, 0.6 * height], [0.7 * width, 0.2 * height]]),
            point_labels=np.array([1, 0]),
            multimask_output=False,
        ),
        dict(box=np.array([0.2 * width, 0.2 * height, 0.7 * width, 0.8 * height]), multimask_output=False),
    ]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(predictors: dict, image: np.ndarray, repeats: int, clicks_per_round: int) -> dict:
    height, width = image.shape[:2]
    click = clicks(width, height)[0]
    results = {name: {"set_image": [], "click": []} for name in predictors}
    for predictor in predictors.values():  # warm-up
        predictor.set_image(image)
        predictor.predict(**click)
    for _ in range(repeats):
        for name, predictor in predictors.items():
            results[name]["set_image"].append(timed(lambda p=predictor: p.set_image(image)))
            for _ in range(clicks_per_round):
                results[name]["click"].append(timed(lambda p=predictor: p.predict(**click)))
    return {name: {k: statistics.median(v) for k, v in r.items()} for name, r in results.items()}


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def bf16_agreement(fp32: ImagePredictor, bf16: ImagePredictor) -> tuple[list[float], list[float], list[float]]:
    """Mask IoU, mean |logit difference| and mean |fp32 logit| per mask, bf16 against fp32."""
    ious, errors, scales = [], [], []
    for name in IOU_PHOTOS:
        image = np.asarray(Image.open(ROOT / "tests" / "data" / "opencv" / name).convert("RGB"))
        fp32.set_image(image)
        bf16.set_image(image)
        for prompt in clicks(image.shape[1], image.shape[0]):
            ours = fp32.predict(return_logits=True, **prompt)[0]
            fast = bf16.predict(return_logits=True, **prompt)[0]
            for x, y in zip(ours, fast):
                ious.append(mask_iou(x > 0, y > 0))
                errors.append(float(np.abs(x - y).mean()))
                scales.append(float(np.abs(x).mean()))
    return ious, errors, scales


def profile(predictor: ImagePredictor, image: np.ndarray, label: str) -> None:
    from torch.profiler import profile as torch_profile

    height, width = image.shape[:2]
    click = clicks(width, height)[0]
    with torch_profile() as prof:
        predictor.set_image(image)
    print(f"\nprofile: {label} set_image (self CPU time per operator)")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))
    with torch_profile() as prof:
        for _ in range(10):
            predictor.predict(**click)
    print(f"profile: {label} 10 clicks")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="sam2.1-tiny")
    parser.add_argument("--checkpoint", type=Path, help="an official checkpoint file (default: random weights)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--clicks", type=int, default=10, help="clicks timed per repeat")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--profile", action="store_true", help="also print where the time goes")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    install_torchvision_stand_in()
    from sam2.build_sam import build_sam2
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    from reference import OFFICIAL_CONFIGS

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint
        if checkpoint is None:
            checkpoint = save_official_checkpoint(build_official(args.variant), Path(tmp) / "random.pt")
        official = build_sam2(OFFICIAL_CONFIGS[args.variant], ckpt_path=str(checkpoint), device="cpu")
        predictors = {
            "official fp32": SAM2ImagePredictor(official),
            "ours fp32": ImagePredictor(load_model(checkpoint, precision="fp32")),
            "ours bf16": ImagePredictor(load_model(checkpoint, precision="bf16")),
        }
    image = load_photo(PHOTO)
    print(
        f"{args.variant}, photo {PHOTO.name} resized to 1024x640, {args.threads} threads, "
        f"torch {torch.__version__}, {args.repeats} repeats x {args.clicks} clicks, medians"
    )
    results = measure(predictors, image, args.repeats, args.clicks)
    base = results["official fp32"]
    print(f"{'':<15} {'set_image':>10} {'ratio':>6}   {'click':>9} {'ratio':>6}")
    for name, r in results.items():
        print(
            f"{name:<15} {r['set_image']:>9.3f}s {r['set_image'] / base['set_image']:>5.2f}x"
            f"   {r['click'] * 1000:>7.1f}ms {r['click'] / base['click']:>5.2f}x"
        )
    ious, errors, scales = bf16_agreement(predictors["ours fp32"], predictors["ours bf16"])
    relative = np.array(errors) / np.array(scales)
    print(
        f"bf16 vs fp32 masks over {len(ious)} masks ({len(IOU_PHOTOS)} photos x 3 prompts): IoU median "
        f"{np.median(ious):.4f}, mean {np.mean(ious):.4f}, min {np.min(ious):.4f}; {np.sum(np.array(ious) >= 0.98)} "
        f"with IoU >= 0.98; relative logit error median {np.median(relative):.3f}"
    )
    if args.profile:
        profile(predictors["ours bf16"], image, "ours bf16")


if __name__ == "__main__":
    main()
