"""`anymask bench`: how fast this machine embeds an image, answers a click and tracks video frames."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class BenchResult:
    model: str
    device: str
    precision: str
    image_size: tuple[int, int]
    set_image_s: float
    click_ms: float
    track_s_per_frame: float | None
    frames: int


PRESENCE_BIAS_KEY = "sam_mask_decoder.pred_obj_score_head.layers.2.bias"


def random_checkpoint(variant: str, folder: Path, present: bool = False) -> Path:
    """A randomly initialised model saved in the official format (speed does not depend on the weights).

    present: add +6 to the occlusion head's bias, so tracked objects are "present" and masks not empty
    (random weights otherwise say every object is absent).
    """
    import torch

    from .sam2 import build_model, get_config

    torch.manual_seed(0)
    state = build_model(get_config(variant)).state_dict()
    if present:
        state[PRESENCE_BIAS_KEY] += 6.0
    path = folder / f"{variant}-random{'-present' if present else ''}.pt"
    torch.save({"model": state}, path)
    return path


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def timed(function, device: str) -> float:
    synchronize(device)
    start = time.perf_counter()
    function()
    synchronize(device)
    return time.perf_counter() - start


def run_bench(
    model_spec: str | Path,
    media: str | Path | None,
    frames: int = 10,
    repeats: int = 3,
    precision: str = "auto",
    device: str = "cpu",
    random_variant: str | None = None,
    report: Callable[[str], None] = lambda line: None,
) -> BenchResult:
    """Time set_image, a click and tracking; `report` gets each line as soon as its figure is measured."""
    from . import ImagePredictor, load_model
    from .media import open_source
    from .models.precision import device_summary, model_speed_tip
    from .tracking import VideoTracker

    with tempfile.TemporaryDirectory(prefix="anymask-bench-") as folder:
        if random_variant:
            model_spec = random_checkpoint(random_variant, Path(folder))
        report(device_summary(device))
        report(f"loading {random_variant + ' (random weights)' if random_variant else model_spec} ...")
        model = load_model(model_spec, device=device, precision=precision)
        report(f"precision {model.precision_choice.describe()}")
        tip = model_speed_tip(model)
        if tip:
            report(f"tip: {tip}")
        source = open_source(media) if media else _synthetic_clip(Path(folder), frames + 1)
        image = source.frame(0)
        height, width = image.shape[:2]
        report(f"frames {width}x{height}")
        predictor = ImagePredictor(model)
        predictor.set_image(image)  # warm-up
        set_times = [timed(lambda: predictor.set_image(image), device) for _ in range(repeats)]
        report(f"embed an image (set_image): {statistics.median(set_times):.3f} s (median of {repeats})")
        point = dict(point_coords=np.array([[width / 2, height / 2]]), point_labels=np.array([1]))
        predictor.predict(**point)
        click_times = [timed(lambda: predictor.predict(**point), device) for _ in range(max(5, repeats))]
        report(
            f"click -> mask:              {1000 * statistics.median(click_times):.1f} ms (median of {len(click_times)})"
        )
        track_time = bench_tracking(VideoTracker(model, source), frames, (width, height), device, report)
        name = random_variant + " (random weights)" if random_variant else str(model_spec)
        return BenchResult(
            name,
            device,
            model.precision,
            (height, width),
            statistics.median(set_times),
            1000 * statistics.median(click_times),
            track_time,
            min(frames, len(source) - 1),
        )


def bench_tracking(tracker, frames: int, size: tuple[int, int], device: str, report) -> float | None:
    """Median seconds per tracked frame for one object clicked at the centre of frame 0 (None: no frames)."""
    count = min(frames, tracker.num_frames - 1)
    if count <= 0:
        tracker.close()
        return None
    tracker.add_prompt(0, 1, points=[[size[0] / 2, size[1] / 2]], labels=[1])
    steps, last = [], time.perf_counter()
    for frame, _, _ in tracker.propagate(0, max_frames=count):
        synchronize(device)
        now = time.perf_counter()
        if frame > 0:
            steps.append(now - last)
            report(f"  tracked frame {frame}: {steps[-1]:.3f} s")
        last = now
    tracker.close()
    if not steps:
        return None
    median = statistics.median(steps)
    report(f"tracking, one object:       {median:.3f} s/frame ({1 / median:.2f} fps, median of {len(steps)} frames)")
    return median


def _synthetic_clip(folder: Path, count: int):
    """A bright square moving over noise, as JPEG frames (when no video is given)."""
    from PIL import Image

    from .media import open_source

    clip = folder / "clip"
    clip.mkdir()
    rng = np.random.default_rng(0)
    for index in range(count):
        frame = rng.integers(0, 80, (480, 640, 3), dtype=np.uint8)
        frame[200:300, 100 + 10 * index : 200 + 10 * index] = 230
        Image.fromarray(frame).save(clip / f"{index:05d}.jpg")
    return open_source(clip)
