"""`anymask bench`: how fast this machine embeds an image, answers a click and tracks video frames."""

from __future__ import annotations

import statistics
import tempfile
import time
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

    def lines(self) -> list[str]:
        height, width = self.image_size
        rows = [f"model {self.model} on {self.device}, {self.precision}; frames {width}x{height}",
                f"embed an image (set_image): {self.set_image_s:.3f} s (median)",
                f"click -> mask:              {self.click_ms:.1f} ms (median)"]
        if self.track_s_per_frame is not None:
            rows.append(f"tracking, one object:       {self.track_s_per_frame:.3f} s/frame "
                        f"({1 / self.track_s_per_frame:.2f} fps, median of {self.frames} frames)")
        return rows


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


def run_bench(model_spec: str | Path, media: str | Path | None, frames: int = 10, repeats: int = 3,
              precision: str = "bf16", device: str = "cpu", random_variant: str | None = None) -> BenchResult:
    from . import ImagePredictor, load_model
    from .media import open_source
    from .tracking import VideoTracker

    with tempfile.TemporaryDirectory(prefix="anymask-bench-") as folder:
        if random_variant:
            model_spec = random_checkpoint(random_variant, Path(folder))
        model = load_model(model_spec, device=device, precision=precision)
        source = open_source(media) if media else _synthetic_clip(Path(folder), frames + 1)
        image = source.frame(0)
        height, width = image.shape[:2]
        predictor = ImagePredictor(model)
        predictor.set_image(image)  # warm-up
        set_times = [timed(lambda: predictor.set_image(image), device) for _ in range(repeats)]
        point = dict(point_coords=np.array([[width / 2, height / 2]]), point_labels=np.array([1]))
        predictor.predict(**point)
        click_times = [timed(lambda: predictor.predict(**point), device) for _ in range(max(5, repeats))]
        track_time = None
        count = min(frames, len(source) - 1)
        if count > 0:
            tracker = VideoTracker(model, source)
            tracker.add_prompt(0, 1, points=[[width / 2, height / 2]], labels=[1])
            steps, last = [], time.perf_counter()
            for frame, _, _ in tracker.propagate(0, max_frames=count):
                synchronize(device)
                now = time.perf_counter()
                if frame > 0:
                    steps.append(now - last)
                last = now
            tracker.close()
            track_time = statistics.median(steps) if steps else None
        name = random_variant + " (random weights)" if random_variant else str(model_spec)
        return BenchResult(name, device, precision, (height, width), statistics.median(set_times),
                           1000 * statistics.median(click_times), track_time, count)


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
