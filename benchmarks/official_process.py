"""The official SAM 2 package in a process of its own, with glibc's default heap, taking turns with the caller.

`import anymask` tunes glibc's heap for the whole process (`anymask.allocator`), and the official package
run beside ours in one process gained from it too: its set_image page-faulted 77-150 k pages per call
instead of the 210-440 k it faults when run alone, and took 2.04 s against 2.12-2.37 s alone (held to
AVX2, 2 Zen 5 cores). A user runs it alone. So the benchmarks run it here, in a spawned process with
ANYMASK_KEEP_FREED_MEMORY=0 (glibc's defaults), and call it one step at a time: the caller waits while
it runs, so the two still take turns under the same noise. Each step reports the seconds it took in
that process, so the pipe's cost is not counted.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from pathlib import Path
from unittest.mock import patch

import numpy as np

from anymask.allocator import OPT_OUT

ROOT = Path(__file__).resolve().parents[1]


def default_heap_environment() -> dict[str, str]:
    """This process's environment with anymask's heap settings opted out: glibc's defaults in a child."""
    return {**os.environ, OPT_OUT: "0"}


class OfficialProcess:
    """One official image predictor and one official video tracker, in a child process."""

    def __init__(self, variant: str, checkpoint: Path, threads: int):
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        with patch.dict(os.environ, default_heap_environment()):  # the child inherits it at start
            self._process = context.Process(target=_serve, args=(child, variant, str(checkpoint), threads))
            self._process.start()
        child.close()
        self.heap_tuned = self._call("ready")

    def _call(self, command: str, *args):
        try:
            self._conn.send((command, args))
            ok, value = self._conn.recv()
        except (EOFError, ConnectionError):
            self._process.join(timeout=5)
            code = self._process.exitcode
            raise RuntimeError(f"official process exited (code {code}) in {command!r}: see its error above") from None
        if not ok:
            raise RuntimeError(f"official process: {value}")
        return value

    def load_image(self, image: np.ndarray) -> None:
        self._call("load_image", image)

    def set_image(self) -> float:
        """Seconds the official set_image took on the loaded image."""
        return self._call("set_image")

    def click(self, prompt: dict) -> float:
        """Seconds one official predict() took."""
        return self._call("click", prompt)

    def open_video(self, frames_dir: Path, point: list, frames: int) -> float:
        """Open the frames, prompt object 1 with one positive point on frame 0; seconds init_state took."""
        return self._call("open_video", str(frames_dir), point, frames)

    def next_frame(self) -> float:
        """Seconds the official tracker took for its next frame."""
        return self._call("next_frame")

    def close(self) -> None:
        if self._process.is_alive():
            self._conn.send(("exit", ()))
            self._process.join(timeout=30)
        self._conn.close()

    def __enter__(self) -> OfficialProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _serve(conn, variant: str, checkpoint: str, threads: int) -> None:
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "benchmarks")]
    import torch

    torch.set_num_threads(threads)
    from reference import OFFICIAL_CONFIGS, install_torchvision_stand_in

    install_torchvision_stand_in()
    import warnings

    import sam2.sam2_video_predictor
    import sam2.utils.misc
    from sam2.build_sam import build_sam2, build_sam2_video_predictor
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    sam2.sam2_video_predictor.tqdm = sam2.utils.misc.tqdm = lambda items, **_: items  # no progress bars
    warnings.filterwarnings("ignore", message="cannot import name '_C'")  # its optional CUDA extension
    from anymask.allocator import keep_freed_memory  # imported by the test helpers: must be opted out

    state: dict = {
        "predictor": SAM2ImagePredictor(build_sam2(OFFICIAL_CONFIGS[variant], ckpt_path=checkpoint, device="cpu"))
    }

    def timed(call) -> float:
        start = time.perf_counter()
        call()
        return time.perf_counter() - start

    def open_video(frames_dir: str, point: list, frames: int) -> float:
        model = build_sam2_video_predictor(
            OFFICIAL_CONFIGS[variant],
            ckpt_path=checkpoint,
            device="cpu",
            hydra_overrides_extra=["++model.fill_hole_area=0"],
        )
        start = time.perf_counter()
        video = model.init_state(frames_dir)
        opened = time.perf_counter() - start
        model.add_new_points_or_box(video, 0, 1, points=np.array(point, np.float32), labels=np.array([1], np.int32))
        state["frames"] = iter(model.propagate_in_video(video, max_frame_num_to_track=frames - 1))
        return opened

    commands = {
        "ready": lambda: keep_freed_memory(),
        "load_image": lambda image: state.update(image=image),
        "set_image": lambda: timed(lambda: state["predictor"].set_image(state["image"])),
        "click": lambda prompt: timed(lambda: state["predictor"].predict(**prompt)),
        "open_video": open_video,
        "next_frame": lambda: timed(lambda: next(state["frames"])),
    }
    while True:
        command, args = conn.recv()
        if command == "exit":
            return
        try:
            conn.send((True, commands[command](*args)))
        except Exception as error:  # reported to the caller, which raises it
            conn.send((False, f"{command}: {type(error).__name__}: {error}"))
