"""Run the official EdgeTAM code (PyPI `edgetam-dimos`) in build/edgetam-venv and save what it outputs.

Test-only, run as a subprocess by tests/test_edgetam_parity.py (that package installs a module named `sam2`,
which would shadow the official SAM 2 reference in the main environment). Usage:
    official_run.py OUT.pt SEED OBJECT_BIAS PHOTO.png FRAMES_DIR
It builds edgetam.yaml with seeded random weights plus noise on every tensor (timm's pretrained download
forced off), saves the checkpoint in the official format next to OUT, and saves to OUT the image
predictor's outputs for a fixed set of prompts, the video predictor's outputs for a fixed scenario, and
the perceiver check (two objects' memories encoded together against each alone).
"""

from __future__ import annotations

import inspect
import os
import sys
import textwrap
from pathlib import Path

import numpy as np
import torch
from PIL import Image

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may download pretrained weights
sys.path.insert(0, str(Path(__file__).parent))
import torchvision_stand_in  # noqa: E402

torchvision_stand_in.install()

import sam2.modeling.backbones.timm as timm_backbone  # noqa: E402
import sam2.modeling.perceiver as perceiver  # noqa: E402
from sam2.build_sam import build_sam2, build_sam2_video_predictor  # noqa: E402
from sam2.sam2_image_predictor import SAM2ImagePredictor  # noqa: E402
from scenarios import IMAGE_PROMPTS, perturb, video_scenario  # noqa: E402

_create_model = timm_backbone.create_model
timm_backbone.create_model = lambda *args, **kwargs: _create_model(*args, **{**kwargs, "pretrained": False})
NOISE = 0.02
VIDEO_OVERRIDES = ["++model.add_all_frames_to_correct_as_cond=true"]


def patch_perceiver() -> bool:
    """facebookresearch/EdgeTAM issue 15: `.view` on an expanded tensor fails for two objects; use `.reshape`.

    Returns whether the unpatched code failed on a batch of two, as the issue says it does.
    """
    resampler = perceiver.PerceiverResampler(
        dim=64,
        depth=1,
        num_latents=4,
        num_latents_2d=4,
        position_encoding=None,
        pos_enc_at_key_value=True,
    )
    try:
        resampler.forward_2d(torch.zeros(2, 64, 8, 8))
        failed = False
    except RuntimeError:
        failed = True
    source = inspect.getsource(perceiver.PerceiverResampler.forward_2d)
    broken = ".expand(B, -1, -1).view(-1, 1, C)"
    assert broken in source, "the official perceiver changed: revisit this patch"
    namespace = dict(vars(perceiver))
    exec(textwrap.dedent(source.replace(broken, ".expand(B, -1, -1).reshape(-1, 1, C)")), namespace)
    perceiver.PerceiverResampler.forward_2d = namespace["forward_2d"]
    return failed


def image_outputs(model, photo: np.ndarray) -> list:
    predictor = SAM2ImagePredictor(model)
    predictor.set_image(photo)
    height, width = photo.shape[:2]
    results = []
    for make in IMAGE_PROMPTS:
        kwargs = make(width, height)
        multimask = kwargs.pop("multimask_output", True)
        arrays = {k: np.asarray(v) for k, v in kwargs.items()}
        results.append(predictor.predict(return_logits=True, multimask_output=multimask, **arrays))
    # a mask prompt: the best low-res logits of the first prediction fed back
    masks, scores, low = results[0]
    best = low[np.argmax(scores)][None]
    point = np.array([[0.6 * width, 0.6 * height]])
    results.append(predictor.predict(point, np.array([1]), mask_input=best, multimask_output=False, return_logits=True))
    results.append(predictor.predict(mask_input=best, multimask_output=True, return_logits=True))
    return [tuple(np.asarray(a) for a in r) for r in results]


class OfficialVideo:
    """The scenario's calls, answered by the official video predictor."""

    def __init__(self, predictor, frames: str) -> None:
        self.predictor, self.state = predictor, predictor.init_state(frames)

    def prompt(self, frame, obj, **kwargs):
        _, ids, masks = self.predictor.add_new_points_or_box(self.state, frame, obj, **kwargs)
        return list(ids), masks[:, 0].numpy()

    def propagate(self, start=None, reverse=False):
        return [
            (frame, list(ids), masks[:, 0].numpy())
            for frame, ids, masks in self.predictor.propagate_in_video(
                self.state, start_frame_idx=start, reverse=reverse
            )
        ]


def perceiver_batch_check(model) -> float:
    """Largest difference between two memories through the perceiver together and each alone."""
    generator = torch.Generator().manual_seed(7)
    memory = torch.randn(2, 64, 64, 64, generator=generator)
    position = model.memory_encoder.position_encoding(memory)
    with torch.no_grad():
        together, _ = model.spatial_perceiver(memory, position)
        alone = torch.cat([model.spatial_perceiver(memory[i : i + 1], position[i : i + 1])[0] for i in range(2)])
    return float((together - alone).abs().max())


def main(out: str, seed: str, object_bias: str, photo: str, frames: str) -> None:
    unpatched_failed = patch_perceiver()
    torch.manual_seed(int(seed))
    model = build_sam2("configs/edgetam.yaml", ckpt_path=None, device="cpu")
    model = perturb(model, int(seed), NOISE, float(object_bias))
    checkpoint = Path(out).with_name("edgetam_random.pt")
    torch.save({"model": model.state_dict()}, checkpoint)
    results = {
        "checkpoint": str(checkpoint),
        "object_bias": float(object_bias),
        "unpatched_perceiver_failed": unpatched_failed,
        "perceiver_batch_difference": perceiver_batch_check(model),
        "image": image_outputs(model, np.asarray(Image.open(photo).convert("RGB"))),
    }
    video = build_sam2_video_predictor(
        "configs/edgetam.yaml", ckpt_path=str(checkpoint), device="cpu", hydra_overrides_extra=VIDEO_OVERRIDES
    )
    video.fill_hole_area = 0  # the builder's post-processing overrides come after ours and set 8
    results["video"] = video_scenario(OfficialVideo(video, frames))
    torch.save(results, out)


if __name__ == "__main__":
    main(*sys.argv[1:])
