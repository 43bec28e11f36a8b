"""EdgeTAM: our image predictor and tracker equal the official EdgeTAM code within 1e-4 (random weights).

The official code (PyPI edgetam-dimos) runs in build/edgetam-venv (scripts/edgetam_venv.sh) as a subprocess:
it installs its own module named `sam2`, which would shadow the official SAM 2 reference here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from anymask.image_predictor import ImagePredictor
from anymask.sam2 import infer_config, load_checkpoint, read_state_dict
from anymask.tracking import VideoTracker

from conftest import write_clip

sys.path.insert(0, str(Path(__file__).parent / "edgetam"))
from scenarios import IMAGE_PROMPTS, video_scenario  # noqa: E402

TOLERANCE = 1e-4
ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / "build" / "edgetam-venv" / "bin" / "python"
RUNNER = Path(__file__).parent / "edgetam" / "official_run.py"


# one xdist worker runs the whole module, so its expensive module fixtures run once (scripts/test.sh: --dist loadgroup)
pytestmark = pytest.mark.xdist_group("edgetam-official")


@pytest.fixture(scope="module")
def clip(media_dir, tmp_path_factory):
    return write_clip(media_dir, tmp_path_factory.mktemp("edgetam-clip"), count=4, step=3)


@pytest.fixture(scope="module", params=[6.0, 0.3], ids=["present", "scores-near-zero"])
def official(request, media_dir, clip, tmp_path_factory):
    """What the official code output, and its checkpoint, for one occlusion-head bias."""
    if not VENV_PYTHON.is_file():
        pytest.skip("build/edgetam-venv is missing: run scripts/edgetam_venv.sh")
    out = tmp_path_factory.mktemp("edgetam-official") / "outputs.pt"
    command = [str(VENV_PYTHON), str(RUNNER), str(out), "0", str(request.param), str(media_dir / "fruits.jpg"), clip]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return torch.load(out, weights_only=False)


def _close(expected, actual, what):
    expected, actual = np.asarray(expected), np.asarray(actual)
    assert actual.shape == expected.shape, what
    np.testing.assert_allclose(actual, expected, atol=TOLERANCE, rtol=0, err_msg=what)


class OurVideo:
    """The scenario's calls, answered by our tracker."""

    def __init__(self, tracker: VideoTracker) -> None:
        self.tracker = tracker

    def prompt(self, frame, obj, **kwargs):
        return self.tracker.add_prompt(frame, obj, **kwargs)

    def propagate(self, start=None, reverse=False):
        return list(self.tracker.propagate(start, reverse=reverse))


@pytest.mark.parity
@pytest.mark.slow
def test_checkpoint_loads_strictly_as_edgetam(official):
    path = official["checkpoint"]
    assert infer_config(read_state_dict(path)).name == "edgetam"
    model = load_checkpoint(path)
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(13.9e6, rel=0.01)


@pytest.mark.parity
@pytest.mark.slow
def test_image_predictor_matches_official(official, photo):
    ours = ImagePredictor(load_checkpoint(official["checkpoint"]))
    ours.set_image(photo)
    height, width = photo.shape[:2]
    expected = official["image"]
    for index, make in enumerate(IMAGE_PROMPTS):
        actual = ours.predict(return_logits=True, **make(width, height))
        for name, e, a in zip(("masks", "scores", "low-res"), expected[index], actual):
            _close(e, a, f"prompt {index}: {name}")
    first = ours.predict(point_coords=[[0.4 * width, 0.5 * height]], point_labels=[1])
    best = first[2][np.argmax(first[1])][None]
    with_mask = ours.predict(
        point_coords=[[0.6 * width, 0.6 * height]],
        point_labels=[1],
        mask_input=best,
        multimask_output=False,
        return_logits=True,
    )
    mask_only = ours.predict(mask_input=best, multimask_output=True, return_logits=True)
    for index, actual in ((len(IMAGE_PROMPTS), with_mask), (len(IMAGE_PROMPTS) + 1, mask_only)):
        for name, e, a in zip(("masks", "scores", "low-res"), expected[index], actual):
            _close(e, a, f"mask prompt {index}: {name}")


@pytest.mark.parity
@pytest.mark.slow
def test_tracking_matches_official(official, clip):
    tracker = VideoTracker(load_checkpoint(official["checkpoint"]), clip, fill_hole_area=0)
    ours = video_scenario(OurVideo(tracker))
    for index, (expected, actual) in enumerate(zip(official["video"], ours)):
        if isinstance(expected, tuple):  # a prompt: (obj_ids, logits)
            assert list(expected[0]) == list(actual[0])
            _close(expected[1], actual[1], f"step {index}")
            continue
        assert [e[0] for e in expected] == [a[0] for a in actual], f"step {index}: frames"
        for (frame, ids, logits), (_, our_ids, our_logits) in zip(expected, actual):
            assert list(ids) == list(our_ids)
            _close(logits, our_logits, f"step {index}, frame {frame}")
    assert len(ours) == len(official["video"]) == 6
    forward = ours[2]
    assert max(np.abs(logits).max() for _, _, logits in forward) > 0.1  # real logits, not -1024 placeholders
    scores = [tracker.object_scores(frame)[obj][0] for frame in range(4) for obj in (1, 2)]
    if official["object_bias"] < 1:  # presence decisions within reach of a flip: the absent path is exercised
        assert min(abs(score) for score in scores) < 0.5, scores


@pytest.mark.parity
@pytest.mark.slow
def test_perceiver_batches_objects(official):
    """The official perceiver fails for two objects at once (EdgeTAM issue 15); patched, two together equal each
    alone. Ours equals that, batched or not."""
    assert official["unpatched_perceiver_failed"]
    assert official["perceiver_batch_difference"] < 1e-5
    model = load_checkpoint(official["checkpoint"])
    memory = torch.randn(2, 64, 64, 64, generator=torch.Generator().manual_seed(7))
    position = model.memory_encoder.position_encoding(memory)
    with torch.no_grad():
        together, pos = model.spatial_perceiver(memory, position)
        alone = torch.cat([model.spatial_perceiver(memory[i : i + 1], position[i : i + 1])[0] for i in range(2)])
    assert together.shape == pos.shape == (2, 512, 64)
    assert float((together - alone).abs().max()) < 1e-5
