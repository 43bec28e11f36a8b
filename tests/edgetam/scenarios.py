"""What both sides of the parity tests share: the prompts, the video scenario and the weight noise (no anymask
imports here: the official EdgeTAM runs it in its own venv)."""

from __future__ import annotations

import numpy as np


def perturb(model, seed: int, noise: float, object_bias: float):
    """Seeded noise on every floating tensor of an official model (no zero path hides), and `object_bias`
    added to its occlusion head: random weights leave every object "absent" (logits -1024); a positive
    bias makes objects present, so tracking outputs carry real logits."""
    import torch

    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(noise * torch.randn(tensor.shape, generator=generator))
        model.sam_mask_decoder.pred_obj_score_head.layers[-1].bias.add_(object_bias)
    return model.eval()


IMAGE_PROMPTS = [
    lambda w, h: dict(point_coords=[[0.4 * w, 0.5 * h]], point_labels=[1]),
    lambda w, h: dict(
        point_coords=[[0.4 * w, 0.5 * h], [0.7 * w, 0.2 * h]], point_labels=[1, 0], multimask_output=False
    ),
    lambda w, h: dict(box=[0.1 * w, 0.2 * h, 0.8 * w, 0.9 * h]),
    lambda w, h: dict(
        box=[0.1 * w, 0.2 * h, 0.8 * w, 0.9 * h],
        point_coords=[[0.5 * w, 0.5 * h], [0.15 * w, 0.25 * h]],
        point_labels=[1, 0],
        multimask_output=False,
    ),
]

CORRECTION_FRAME = 2


def video_scenario(video) -> list:
    """Two objects on frame 0 (clicks, a box), forward, a click on each object at a later frame, reverse.

    Both objects are corrected on that frame: the official EdgeTAM predictor (the pre-1.1 SAM 2 predictor)
    turns a frame prompted for one object into a prompted frame of every object, where SAM 2.1's, and
    anymask's, keep memories per object. Prompting both keeps the two semantics the same.
    """
    points, labels = np.array([[300, 200], [350, 250]], np.float32), np.array([1, 0], np.int32)
    steps = [video.prompt(0, 1, points=points, labels=labels)]
    steps.append(video.prompt(0, 2, box=np.array([500, 300, 650, 500], np.float32)))
    steps.append(video.propagate())
    for obj, point in ((1, [320, 260]), (2, [560, 380])):
        steps.append(
            video.prompt(
                CORRECTION_FRAME,
                obj,
                points=np.array([point], np.float32),
                labels=np.array([1], np.int32),
                clear_old_points=False,
            )
        )
    steps.append(video.propagate(CORRECTION_FRAME, reverse=True))
    return steps
