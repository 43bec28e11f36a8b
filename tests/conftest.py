"""Shared fixtures: sample media, random-weight checkpoints in the official format, thread settings."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # the app's tests run without a display

# pytest-xdist workers (scripts/test.sh runs one per core, at most 4) share the cores: each gets its share (at
# most 2 threads), and so do the processes they start (the CLI's, the app's), through OMP_NUM_THREADS
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
THREADS = max(1, min(2, (os.cpu_count() or 1) // _WORKERS))
if _WORKERS > 1:
    os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
torch.set_num_threads(THREADS)

MEDIA = Path(__file__).parent / "data" / "opencv"


def pytest_collection_modifyitems(items):
    """Parity tests first, then the other slow ones, then the rest (otherwise in file order). pytest-xdist
    hands tests out in this order and queues up to three per worker, so in file order the last long tests
    (the tracker parity test, the workflow tests) ran at the end while the other worker sat idle."""
    items.sort(key=lambda item: (item.get_closest_marker("parity") is None, item.get_closest_marker("slow") is None))


@pytest.fixture(scope="session")
def media_dir() -> Path:
    """Real videos and photos from Debian's opencv-doc (scripts/fetch_test_media.sh); required on CI."""
    if not (MEDIA / "fruits.jpg").is_file():
        if os.environ.get("CI"):
            pytest.fail("tests/data/opencv is missing: .ci/run must call scripts/fetch_test_media.sh")
        pytest.skip("sample media missing: run scripts/fetch_test_media.sh")
    return MEDIA


@pytest.fixture(scope="session")
def photo(media_dir) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(media_dir / "fruits.jpg").convert("RGB"))


@pytest.fixture(scope="session")
def checkpoint_factory(tmp_path_factory):
    """Build (once per variant) the official model with noisy random weights and save it as `{"model": sd}`."""
    from reference import build_official, save_official_checkpoint

    made: dict[str, tuple[Path, object]] = {}

    def make(variant: str):
        if variant not in made:
            official = build_official(variant)
            path = tmp_path_factory.mktemp("ckpt") / f"{variant}.pt"
            made[variant] = (save_official_checkpoint(official, path), official)
        return made[variant]

    return make


@pytest.fixture(scope="session")
def own_checkpoint(tmp_path_factory) -> Path:
    """A random-weight sam2.1-tiny checkpoint made with our own model (no official package needed)."""
    from anymask.sam2 import build_model, get_config

    torch.manual_seed(0)
    model = build_model(get_config("sam2.1-tiny"))
    path = tmp_path_factory.mktemp("own") / "sam2.1_hiera_tiny.pt"
    torch.save({"model": model.state_dict()}, path)
    return path


@pytest.fixture(scope="session")
def present_checkpoint(own_checkpoint, tmp_path_factory) -> Path:
    """Random weights whose occlusion head says "present", so tracked masks are not all empty."""
    from anymask.bench import PRESENCE_BIAS_KEY

    state = torch.load(own_checkpoint, weights_only=True)
    state["model"][PRESENCE_BIAS_KEY] += 6.0
    path = tmp_path_factory.mktemp("present") / "sam2.1_hiera_tiny.pt"
    torch.save(state, path)
    return path


@pytest.fixture(scope="session")
def edgetam_checkpoint(tmp_path_factory) -> Path:
    """Random EdgeTAM weights whose occlusion head says "present": ~5x faster to track than sam2.1-tiny, for
    workflow tests whose subject is not the network (speed does not depend on the weights)."""
    from anymask.bench import random_checkpoint

    return random_checkpoint("edgetam", tmp_path_factory.mktemp("edgetam"), present=True)


def write_clip(media_dir: Path, folder: Path, count: int, step: int, name: str = "{:05d}.jpg") -> Path:
    """Save `count` frames of vtest.avi (every `step`-th) as JPEGs named by `name`, for tests on a short real clip."""
    from PIL import Image

    from anymask.media import open_source

    folder.mkdir(parents=True, exist_ok=True)
    source = open_source(media_dir / "vtest.avi")
    for i in range(count):
        Image.fromarray(source.frame(step * i)).save(folder / name.format(i), quality=95)
    return folder


SMALL_INPUT = 512  # pixels: a quarter of the official 1024's tokens


def small_input_model(checkpoint: Path, monkeypatch) -> torch.nn.Module:
    """The checkpoint's model (fp32, CPU) taking 512-pixel input, for tests whose subject is not the input
    size (batching, padding, parity of the memory path): a quarter of the tokens, about a sixth of the time.

    Attention is chunked from a sixteenth of the query x key pairs it is chunked from at 1024 pixels, so the
    same kernels run as at 1024 (memory attention's chunked fp32 attention with folded values or a padding
    bias). The image parity tests and the fast mode's bounds keep the official size.
    """
    from dataclasses import replace

    from anymask.sam2 import fast_ops, infer_config, load_checkpoint, read_state_dict

    monkeypatch.setattr(fast_ops, "CHUNKED_ATTENTION_MIN_PAIRS", fast_ops.CHUNKED_ATTENTION_MIN_PAIRS // 16)
    config = replace(infer_config(read_state_dict(checkpoint), str(checkpoint)), image_size=SMALL_INPUT)
    return load_checkpoint(checkpoint, config)


def count_chunked_attention(monkeypatch) -> list[tuple[bool, bool]]:
    """(values folded, padding bias given) for each call of the chunked CPU attention from now on."""
    from anymask.sam2 import fast_ops

    calls, chunked = [], fast_ops._chunked_attention

    def counted(q, k, v, bias):
        calls.append((v.shape[-1] < q.shape[-1], bias is not None))
        return chunked(q, k, v, bias)

    monkeypatch.setattr(fast_ops, "_chunked_attention", counted)
    return calls


@contextmanager
def step(name: str):
    """A named stage of a scenario test: a failure inside says which stage failed."""
    try:
        yield
    except Exception as exc:
        raise AssertionError(f"step {name!r} failed: {type(exc).__name__}: {exc}") from exc
