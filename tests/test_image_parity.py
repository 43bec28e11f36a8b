"""ImagePredictor equals the official SAM2ImagePredictor within 1e-4 (random-weight checkpoints)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from anymask.image_predictor import ImagePredictor
from anymask.sam2 import load_checkpoint

from reference import install_torchvision_stand_in

TOLERANCE = 1e-4

PROMPTS = {
    "one point": lambda w, h: dict(point_coords=[[0.4 * w, 0.5 * h]], point_labels=[1]),
    "negative point": lambda w, h: dict(
        point_coords=[[0.4 * w, 0.5 * h], [0.7 * w, 0.2 * h]], point_labels=[1, 0], multimask_output=False
    ),
    "box": lambda w, h: dict(box=[0.1 * w, 0.2 * h, 0.8 * w, 0.9 * h]),
    "box and points": lambda w, h: dict(
        box=[0.1 * w, 0.2 * h, 0.8 * w, 0.9 * h],
        point_coords=[[0.5 * w, 0.5 * h], [0.15 * w, 0.25 * h]],
        point_labels=[1, 0],
        multimask_output=False,
    ),
    "single point single mask": lambda w, h: dict(
        point_coords=[[w - 1, h - 1]], point_labels=[1], multimask_output=False
    ),
}


def _official_predictor(model):
    install_torchvision_stand_in()
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    return SAM2ImagePredictor(model)


def _compare(reference, ours, kwargs):
    expected = reference.predict(
        return_logits=True,
        **{k: np.asarray(v) for k, v in kwargs.items() if k != "multimask_output"},
        multimask_output=kwargs.get("multimask_output", True),
    )
    actual = ours.predict(return_logits=True, **kwargs)
    for name, e, a in zip(("masks", "scores", "low-res logits"), expected, actual):
        assert a.shape == e.shape, name
        np.testing.assert_allclose(a, e, atol=TOLERANCE, rtol=0, err_msg=name)
    return actual


def _synthetic(height, width, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    image = rng.integers(0, 60, (height, width, 3)).astype(np.int32)
    blob = (xx - width * 0.45) ** 2 / (0.2 * width + 1) ** 2 + (yy - height * 0.5) ** 2 / (0.25 * height + 1) ** 2 < 1
    image[blob] += np.array([180, 120, 30])
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.mark.parity
@pytest.mark.slow
@pytest.mark.parametrize("variant", ["sam2.1-tiny", "sam2-tiny"])
def test_prompts_on_real_photo(variant, checkpoint_factory, photo):
    path, official = checkpoint_factory(variant)
    reference, ours = _official_predictor(official), ImagePredictor(load_checkpoint(path))
    reference.set_image(photo)
    ours.set_image(photo)
    height, width = photo.shape[:2]
    for make in PROMPTS.values():
        _compare(reference, ours, make(width, height))
    # a mask prompt fed back from the previous prediction
    first = ours.predict(point_coords=[[0.4 * width, 0.5 * height]], point_labels=[1])
    best = first[2][np.argmax(first[1])][None]
    _compare(
        reference,
        ours,
        dict(point_coords=[[0.6 * width, 0.6 * height]], point_labels=[1], mask_input=best, multimask_output=False),
    )
    _compare(reference, ours, dict(mask_input=best, multimask_output=True))


@pytest.mark.parity
@pytest.mark.slow
@pytest.mark.parametrize("size", [(333, 517), (37, 1001), (641, 99)])
def test_odd_sizes_and_pil_input(size, checkpoint_factory):
    path, official = checkpoint_factory("sam2.1-tiny")
    reference, ours = _official_predictor(official), ImagePredictor(load_checkpoint(path))
    image = _synthetic(*size, seed=size[0])
    reference.set_image(Image.fromarray(image))
    ours.set_image(Image.fromarray(image))
    height, width = size
    for name in ("one point", "box and points"):
        _compare(reference, ours, PROMPTS[name](width, height))


@pytest.mark.parity
def test_batched_boxes(checkpoint_factory, photo):
    path, official = checkpoint_factory("sam2.1-tiny")
    reference, ours = _official_predictor(official), ImagePredictor(load_checkpoint(path))
    reference.set_image(photo)
    ours.set_image(photo)
    boxes = np.array([[10, 20, 200, 220], [150, 100, 400, 380]], dtype=np.float32)
    masks, scores, low = _compare(reference, ours, dict(box=boxes, multimask_output=False))
    assert masks.shape == (2, 1, *photo.shape[:2])
