"""The least time SAM 2's exact fp32 arithmetic can take on this CPU: FLOPs counted, divided by measured peaks.

Usage: python benchmarks/cpu_floor.py [--variant sam2.1-tiny] [--threads 2] [--precision fp32] [--official]
       [--official-set-image S] [--official-click S] [--official-frame S]

Counts the floating-point operations of set_image, one click and one tracked frame (one object, memory bank
full) of ours in fp32, by kind: matrix products (linears, bmm, convolutions) and fused attention. Then it
measures the best rate this machine's fp32 kernels reach on the shapes that dominate (MKL's and oneDNN's
GEMMs, PyTorch's CPU flash attention) and divides. Everything else (softmax outside the fused kernel, GELU,
LayerNorm, copies) is counted as free, so the result is a strict lower bound for any implementation of the
same arithmetic.
--precision bf16 does the same for our bf16 arithmetic with bf16 peaks (for CPUs with native BF16).
With --official it also times the official package on the same weights in the same run, in a process of its
own with glibc's default heap (official_process.py), or takes its times from cpu_speed.py's output, and prints
each floor as a fraction of them: a target below that fraction cannot be met by any implementation of the same
arithmetic on this machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from common import STEADY_FROM, steady_median  # noqa: E402
from image import PHOTO, clicks, load_photo  # noqa: E402

VIDEO = ROOT / "tests" / "data" / "opencv" / "vtest.avi"
GEMM = "matrix products"
ATTENTION = "fused attention"
FOLDED = "fused attention, values folded"  # memory attention's cross-attention with 64-wide values
MEMORY_WIDTH = 64


def _attention_flops(query_shape, key_shape, value_shape) -> int:
    """Scores and weighted values: 2 * batch * heads * queries * keys * (key width + value width)."""
    *lead, queries, key_width = query_shape
    keys, value_width = key_shape[-2], value_shape[-1]
    return 2 * int(np.prod(lead)) * queries * keys * (key_width + value_width)


def _folded_flops(query_shape, key_shape, value_shape) -> int:
    """The same attention if one-head attention over more keys than queries (memory attention's
    cross-attention) weighted the 64-channel memories and projected afterwards (W_o W_v folded)."""
    if key_shape[-2] > query_shape[-2] and int(np.prod(query_shape[:-2])) == 1:
        value_shape = (*value_shape[:-1], MEMORY_WIDTH)
    return _attention_flops(query_shape, key_shape, value_shape)


def count_flops(call) -> dict[str, int]:
    """FLOPs of `call()` by kind; CPU flash attention is not in torch's own table, so it is added here."""
    folded = []

    def attention_flops(query_shape, key_shape, value_shape, *args, **kwargs) -> int:
        folded.append(_folded_flops(query_shape, key_shape, value_shape))
        return _attention_flops(query_shape, key_shape, value_shape)

    def inner_product_flops(x_shape, *args, **kwargs) -> int:
        # (X, W, B, attr, scalars, algorithm), or the .binary overload (X, other, W, B, attr)
        weight_shape = args[0] if len(args) == 5 else args[1]
        return 2 * int(np.prod(x_shape[:-1])) * weight_shape[0] * weight_shape[1]

    attention_op = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    linear_op = torch.ops.mkldnn._linear_pointwise  # oneDNN linears (sam2/linear.py), not in torch's table
    mapping = {attention_op: attention_flops, linear_op: inner_product_flops}
    counter = FlopCounterMode(display=False, custom_mapping=mapping)
    with counter:
        call()
    by_op = counter.get_flop_counts()["Global"]
    attention = sum(v for op, v in by_op.items() if "scaled_dot_product" in str(op))
    return {GEMM: counter.get_total_flops() - attention, ATTENTION: attention, FOLDED: sum(folded)}


def best_rate(call, flops: int, repeats: int = 7) -> float:
    """FLOP/s of the fastest of `repeats` runs (after one warm-up)."""
    call()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return flops / best


def machine_peaks(dtype: torch.dtype) -> dict[str, float]:
    """The best rate of each kind over the shapes that carry most of SAM 2's FLOPs, in `dtype`."""
    from anymask.sam2.linear import inner_product, onednn_applies, packed_operand

    gemm_rates = []
    shapes = ((4096, 256, 2048), (16384, 384, 192), (4096, 384, 1536), (16384, 192, 576), (4096, 2048, 256))
    for rows, inputs, outputs in (*shapes, (512, 28736, 64)):  # the last: attention's value product
        a, w, b = (torch.randn(shape, dtype=dtype) for shape in ((rows, inputs), (outputs, inputs), (outputs,)))
        flops = 2 * rows * inputs * outputs
        gemm_rates.append(best_rate(lambda a=a, w=w, b=b: F.linear(a, w, b), flops))  # MKL in fp32
        if onednn_applies(a, w):  # oneDNN's inner product: faster on some shapes (AVX-512 on AMD CPUs)
            gemm_rates.append(best_rate(lambda a=a, w=w: inner_product(a, w), flops))
            packed = packed_operand(w, rows)  # the weight reordered once, as linear.packed_weight keeps it
            gemm_rates.append(best_rate(lambda a=a, w=packed: inner_product(a, w), flops))
    attention_rates = []
    for heads, queries, keys, width in ((1, 4096, 28736, 256), (1, 4096, 4096, 256), (4, 4096, 4096, 96)):
        q, k = torch.randn(1, heads, queries, width, dtype=dtype), torch.randn(1, heads, keys, width, dtype=dtype)
        flops = _attention_flops(q.shape, k.shape, k.shape)
        attention_rates.append(best_rate(lambda q=q, k=k: F.scaled_dot_product_attention(q, k, k), flops, 3))
    return {GEMM: max(gemm_rates), ATTENTION: max(attention_rates)}


def workloads(checkpoint: Path, folder: Path, precision: str) -> dict[str, dict[str, int]]:
    """FLOPs of ours: set_image on a photo, one click, and one tracked frame with the bank full."""
    from cpu_speed import POINT
    from PIL import Image

    from anymask import ImagePredictor, load_model
    from anymask.media import open_source
    from anymask.tracking import VideoTracker

    model = load_model(checkpoint, precision=precision)
    predictor = ImagePredictor(model)
    photo = load_photo(PHOTO)
    click = clicks(photo.shape[1], photo.shape[0])[0]
    counts = {"set_image": count_flops(lambda: predictor.set_image(photo))}
    counts["click"] = count_flops(lambda: predictor.predict(**click))
    frames_dir = folder / "frames"
    frames_dir.mkdir()
    source = open_source(VIDEO)
    for index in range(STEADY_FROM + 2):
        Image.fromarray(source.frame(index)).save(frames_dir / f"{index:05d}.jpg", quality=95)
    tracker = VideoTracker(model, frames_dir, fill_hole_area=0)
    tracker.add_prompt(0, 1, points=POINT, labels=[1])
    frames = iter(tracker.propagate())
    for _ in range(STEADY_FROM):
        next(frames)
    counts["tracked frame"] = count_flops(lambda: next(frames))
    tracker.close()
    return counts


def time_official(variant: str, checkpoint: Path, folder: Path, threads: int) -> dict[str, float]:
    """The official package on the same weights, in a process of its own with glibc's default heap
    (official_process.py): set_image and click medians, steady seconds per tracked frame."""
    from cpu_speed import POINT
    from official_process import OfficialProcess

    photo = load_photo(PHOTO)
    click = clicks(photo.shape[1], photo.shape[0])[0]
    frames = len(list((folder / "frames").glob("*.jpg")))
    with OfficialProcess(variant, checkpoint, threads) as official:
        official.load_image(photo)
        official.set_image()  # warm-up
        times = {"set_image": float(np.median([official.set_image() for _ in range(3)]))}
        times["click"] = float(np.median([official.click(click) for _ in range(15)]))
        official.open_video(folder / "frames", POINT, frames)
        times["tracked frame"] = steady_median([official.next_frame() for _ in range(frames)])
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="sam2.1-tiny")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--precision", choices=("fp32", "bf16"), default="fp32", help="bf16: the floor of our bf16 arithmetic"
    )
    parser.add_argument("--official", action="store_true", help="time the official package here, in this run")
    parser.add_argument("--official-set-image", type=float, help="the official set_image, seconds (cpu_speed.py)")
    parser.add_argument("--official-click", type=float, help="the official click -> mask, seconds")
    parser.add_argument("--official-frame", type=float, help="the official tracked frame, seconds")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from reference import build_official, save_official_checkpoint

    cap = torch.backends.cpu.get_cpu_capability()
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = save_official_checkpoint(build_official(args.variant, object_bias=6.0), Path(tmp) / "random.pt")
        with torch.inference_mode():
            counts = workloads(checkpoint, Path(tmp), args.precision)
        official = (
            time_official(args.variant, checkpoint, Path(tmp), args.threads)
            if args.official
            else {
                "set_image": args.official_set_image,
                "click": args.official_click,
                "tracked frame": args.official_frame,
            }
        )
    peaks = machine_peaks(torch.bfloat16 if args.precision == "bf16" else torch.float32)
    print(
        f"[{cap}] {args.threads} threads, {args.precision} peaks measured here: "
        + ", ".join(f"{kind} {rate / 1e9:.0f} GFLOP/s" for kind, rate in peaks.items())
    )
    print(
        f"\n| [{cap}] {args.variant} {args.precision} | GFLOP ({GEMM}) | GFLOP ({ATTENTION}) | floor | official "
        "| floor / official | floor with values folded | / official |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, by_kind in counts.items():
        floor = by_kind[GEMM] / peaks[GEMM] + by_kind[ATTENTION] / peaks[ATTENTION]
        folded = by_kind[GEMM] / peaks[GEMM] + by_kind[FOLDED] / peaks[ATTENTION]
        measured = official[name]
        print(
            f"| {name} | {by_kind[GEMM] / 1e9:.1f} | {by_kind[ATTENTION] / 1e9:.1f} | {floor:.3f} s | "
            f"{f'{measured:.3f} s' if measured else 'not given'} | {f'{floor / measured:.2f}x' if measured else ''} "
            f"| {folded:.3f} s | {f'{folded / measured:.2f}x' if measured else ''} |"
        )


if __name__ == "__main__":
    main()
