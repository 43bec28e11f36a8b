"""ImagePredictor input checking and output shapes, on EdgeTAM (SAM 2 is in test_image_parity.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from anymask.image_predictor import ImagePredictor
from anymask.sam2 import load_checkpoint


@pytest.fixture(scope="module")
def predictor(edgetam_checkpoint):
    predictor = ImagePredictor(load_checkpoint(edgetam_checkpoint))
    predictor.set_image(np.full((120, 200, 3), 90, dtype=np.uint8))
    return predictor


def test_predict_before_set_image(edgetam_checkpoint):
    with pytest.raises(RuntimeError, match="set_image"):
        ImagePredictor(load_checkpoint(edgetam_checkpoint)).predict(point_coords=[[1, 1]], point_labels=[1])


def test_output_shapes(predictor):
    masks, scores, low = predictor.predict(point_coords=[[50, 60]], point_labels=[1])
    assert masks.shape == (3, 120, 200) and masks.dtype == bool
    assert scores.shape == (3,) and low.shape == (3, 256, 256)
    masks, scores, low = predictor.predict(box=[10, 10, 150, 100], multimask_output=False, return_logits=True)
    assert masks.shape == (1, 120, 200) and masks.dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(point_coords=[[250, 60]], point_labels=[1]), "outside the image"),
        (dict(point_coords=[[-1, 60]], point_labels=[1]), "outside the image"),
        (dict(point_coords=[[10, 130]], point_labels=[1]), "outside the image"),
        (dict(box=[10, 10, 300, 100]), "outside the image"),
        (dict(box=[100, 10, 50, 100]), "x2 >= x1"),
        (dict(box=[1, 2, 3]), "shape 4"),
        (dict(point_coords=[[1, 2, 3]], point_labels=[1]), "Nx2"),
        (dict(point_coords=[[1, 2], [3, 4]], point_labels=[1]), "one label per point"),
        (dict(point_coords=[[1, 2]], point_labels=[7]), "positive"),
        (dict(point_coords=[[1, 2]]), "together"),
        (dict(point_coords=[[float("nan"), 2]], point_labels=[1]), "NaN"),
        (dict(mask_input=np.zeros((1, 64, 64))), "256x256"),
        (dict(point_coords=[[0.5, 1.5]], point_labels=[1], normalize_coords=False), "outside the image"),
    ],
)
def test_bad_prompts_raise_value_error(predictor, kwargs, message):
    with pytest.raises(ValueError, match=message):
        predictor.predict(**kwargs)


def test_bad_images(predictor):
    with pytest.raises(ValueError, match="HxWx3"):
        predictor.set_image(np.zeros((10, 10), dtype=np.uint8))
    with pytest.raises(ValueError, match="numpy array or a PIL image"):
        predictor.set_image("picture.png")


def test_pil_grayscale_is_converted(edgetam_checkpoint):
    predictor = ImagePredictor(load_checkpoint(edgetam_checkpoint))
    predictor.set_image(Image.new("L", (64, 48), 128))
    assert predictor.original_size == (48, 64)
    assert predictor.predict(point_coords=[[10, 10]], point_labels=[1])[0].shape == (3, 48, 64)
