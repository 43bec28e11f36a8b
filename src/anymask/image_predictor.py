"""ImagePredictor: embed an image once, then decode each prompt (the official SAM2ImagePredictor's API)."""

from __future__ import annotations

import numpy as np
import torch

from .allocator import large_blocks_reused
from .prompts import validate_prompts
from .sam2.mask_decoder import DecoderImage
from .sam2.model import ImageFeatures, SAM2Model
from .sam2.prompt_encoder import BOX_BOTTOM_RIGHT_LABEL, BOX_TOP_LEFT_LABEL
from .sam2.transforms import as_rgb_array, to_model_input, upscale_masks


class ImagePredictor:
    """`set_image(image)` then `predict(...)` as many times as the person clicks."""

    def __init__(self, model: SAM2Model, mask_threshold: float = 0.0) -> None:
        self.model = model
        self.mask_threshold = mask_threshold
        self.features: ImageFeatures | None = None
        self._decoder_image: DecoderImage | None = None
        self.original_size: tuple[int, int] | None = None

    @property
    def device(self) -> torch.device:
        return self.model.device

    @property
    def is_image_set(self) -> bool:
        return self.features is not None

    def reset(self) -> None:
        self.features = None
        self._decoder_image = None
        self.original_size = None

    @torch.inference_mode()
    def set_image(self, image) -> None:
        """Compute the embedding of an HxWx3 uint8 RGB array or PIL image."""
        array = as_rgb_array(image)
        self.reset()
        batch = to_model_input(array, self.model.config.image_size, self.device)
        with large_blocks_reused():
            features = self.model.encode_image(batch)
        self.set_features(features, array.shape[:2])

    def set_features(self, features: ImageFeatures, original_size: tuple[int, int]) -> None:
        """Reuse an embedding computed elsewhere (a cache, a background thread)."""
        self.features = features
        self.original_size = (int(original_size[0]), int(original_size[1]))
        with torch.inference_mode():
            embedding = self.model.image_embedding_without_memory(features.embedding)
            self._decoder_image = self.model.prepare_decoder_image(embedding, features.high_res)
            # the first click then finds the decoder's prompt-independent projections ready (~1-2 ms)
            self.model.prepare_first_click(self._decoder_image)

    @torch.inference_mode()
    def predict(
        self,
        point_coords=None,
        point_labels=None,
        box=None,
        mask_input=None,
        multimask_output: bool = True,
        return_logits: bool = False,
        normalize_coords: bool = True,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Masks (C, H, W) at the original size, their IoU scores (C,) and low-res logits (C, 256, 256).

        For a batch of B prompts (point_coords BxNx2 or box Bx4), each output gets a leading B axis.
        """
        if self.features is None or self.original_size is None:
            raise RuntimeError("call set_image(...) before predict(...)")
        prompts = validate_prompts(point_coords, point_labels, box, mask_input, self.original_size, normalize_coords)
        coords, labels = self._model_points(prompts.coords, prompts.labels, prompts.box, normalize_coords)
        mask = None
        if prompts.mask_input is not None:
            mask = torch.as_tensor(prompts.mask_input, dtype=torch.float32, device=self.device)
        out = self.model.decode(self._decoder_image, coords, labels, mask, multimask_output)
        masks = upscale_masks(out.mask_logits, *self.original_size)
        low_res = torch.clamp(out.mask_logits, -32.0, 32.0)
        if not return_logits:
            masks = masks > self.mask_threshold
        squeeze = masks.shape[0] == 1
        results = [t.squeeze(0) if squeeze else t for t in (masks, out.iou, low_res)]
        return tuple(t.float().cpu().numpy() if t.dtype != torch.bool else t.cpu().numpy() for t in results)

    def _model_points(self, coords, labels, box, normalize_coords: bool):
        """Points and box corners in the model's 1024x1024 input space, box corners first."""
        height, width = self.original_size
        resolution = self.model.config.image_size
        scale = torch.tensor(
            [resolution / width, resolution / height] if normalize_coords else [resolution, resolution],
            device=self.device,
        )
        point_tensor = label_tensor = None
        if coords is not None:
            point_tensor = torch.as_tensor(coords, dtype=torch.float32, device=self.device) * scale
            label_tensor = torch.as_tensor(labels, dtype=torch.int32, device=self.device)
        if box is not None:
            corners = torch.as_tensor(box, dtype=torch.float32, device=self.device).reshape(-1, 2, 2) * scale
            corner_labels = torch.tensor(
                [[BOX_TOP_LEFT_LABEL, BOX_BOTTOM_RIGHT_LABEL]], dtype=torch.int32, device=self.device
            ).repeat(corners.shape[0], 1)
            if point_tensor is not None:
                point_tensor = torch.cat([corners, point_tensor], dim=1)
                label_tensor = torch.cat([corner_labels, label_tensor], dim=1)
            else:
                point_tensor, label_tensor = corners, corner_labels
        return point_tensor, label_tensor
