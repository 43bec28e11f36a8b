"""bf16 precision: same API and dtypes as fp32, logits within a few percent, masks mostly agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from anymask import ImagePredictor, load_model


@pytest.fixture(scope="module")
def pair(own_checkpoint, photo):
    fp32 = ImagePredictor(load_model(own_checkpoint, precision="fp32"))
    bf16 = ImagePredictor(load_model(own_checkpoint, precision="bf16"))
    fp32.set_image(photo)
    bf16.set_image(photo)
    return fp32, bf16


def test_bf16_outputs_are_float32_numpy(pair, photo):
    _, bf16 = pair
    masks, scores, low = bf16.predict(point_coords=[[100, 100]], point_labels=[1], return_logits=True)
    assert masks.dtype == np.float32 and scores.dtype == np.float32 and low.dtype == np.float32
    assert bf16.features.embedding.dtype == torch.float32
    assert bf16.model.image_encoder.trunk.blocks[0].attn.qkv.weight.dtype == torch.bfloat16


@pytest.mark.parametrize(
    "prompt",
    [
        dict(point_coords=[[200, 240]], point_labels=[1]),
        dict(box=[50, 60, 400, 420], multimask_output=False),
        dict(point_coords=[[120, 100], [300, 300]], point_labels=[1, 0], multimask_output=False),
    ],
)
def test_bf16_close_to_fp32(pair, prompt):
    fp32, bf16 = pair
    exact = fp32.predict(return_logits=True, **prompt)
    fast = bf16.predict(return_logits=True, **prompt)
    relative = np.abs(exact[0] - fast[0]).mean() / np.abs(exact[0]).mean()
    assert relative < 0.05
    np.testing.assert_allclose(fast[1], exact[1], atol=0.02)
    ious = [np.logical_and(a > 0, b > 0).sum() / max(1, np.logical_or(a > 0, b > 0).sum()) for a, b in zip(exact[0], fast[0])]
    assert np.mean(ious) > 0.8
