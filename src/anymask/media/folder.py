"""Frame folders and image folders: one image file per frame, natural sort order, mixed sizes allowed."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .base import DEFAULT_CACHE_BYTES, FrameSource, media_error, natural_key, shrink

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


def list_images(folder: Path) -> list[Path]:
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith(".")
    ]
    return sorted(files, key=lambda p: natural_key(p.name))


def read_rgb(path: Path) -> np.ndarray:
    """An image file as RGB uint8, EXIF orientation applied; MediaError naming the file otherwise."""
    try:
        with Image.open(path) as picture:
            picture = ImageOps.exif_transpose(picture)
            return as_rgb8(picture)
    except Image.DecompressionBombError:
        raise media_error(path, f"image is too large (over {Image.MAX_IMAGE_PIXELS * 2} pixels)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise media_error(
            path, f"cannot read image ({exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else 'corrupt'})"
        ) from None


def as_rgb8(picture: Image.Image) -> np.ndarray:
    """RGB uint8. 16-bit images are scaled (65535 -> 255), not clipped; float images from [0, 1], or from
    their own range when they leave it; 32-bit integer images from their own range."""
    if picture.mode.startswith("I;16") or picture.mode in ("I", "F"):
        values = np.asarray(picture, dtype=np.float64)
        if picture.mode.startswith("I;16") or (picture.mode == "I" and values.min() >= 0 and values.max() <= 65535):
            scaled = values / 257.0
        else:
            low, high = (0.0, 1.0) if values.min() >= 0 and values.max() <= 1 else (values.min(), values.max())
            scaled = (values - low) * (255.0 / max(high - low, 1e-12))
        gray = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    return np.asarray(picture.convert("RGB"))


def looks_like_sequence(files: list[Path]) -> bool:
    """True when the names number frames of one video (00000.jpg, frame_0001.png, ...): a shared prefix and
    numbers that mostly step by one. Photos with other names are separate images, annotated one by one."""
    if len(files) < 2:
        return False
    parsed = [re.fullmatch(r"(.*?)(\d+)", Path(f).stem) for f in files]
    if not all(parsed) or len({m.group(1) for m in parsed}) != 1:
        return False
    numbers = sorted(int(m.group(2)) for m in parsed)
    steps = [b - a for a, b in zip(numbers, numbers[1:])]
    return sum(1 for step in steps if 1 <= step <= 5) >= 0.9 * len(steps)


class ImageFolderSource(FrameSource):
    """A folder of images, one per frame; also a list of image files."""

    def __init__(self, path: str | Path | list, fps: float = 30.0, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        super().__init__(cache_bytes)
        if isinstance(path, (list, tuple)):
            self.files = [Path(p) for p in path]
            self.path = self.files[0].parent if self.files else Path(".")
        else:
            self.path = Path(path)
            if not self.path.is_dir():
                raise media_error(self.path, "folder not found")
            self.files = list_images(self.path)
        if not self.files:
            raise media_error(self.path, f"no images found (looked for {', '.join(sorted(IMAGE_EXTENSIONS))})")
        missing = next((f for f in self.files if not f.is_file()), None)
        if missing is not None:
            raise media_error(missing, "image file not found")
        self.fps = float(fps)
        self._sizes: dict[int, tuple[int, int]] = {}

    def __len__(self) -> int:
        return len(self.files)

    def frame_size(self, index: int = 0) -> tuple[int, int]:
        index = self.check_index(index)
        if index not in self._sizes:
            path = self.files[index]
            try:
                with Image.open(path) as picture:
                    picture = ImageOps.exif_transpose(picture) if picture.getexif().get(0x0112, 1) != 1 else picture
                    self._sizes[index] = (picture.height, picture.width)
            except Image.DecompressionBombError:
                raise media_error(path, f"image is too large (over {Image.MAX_IMAGE_PIXELS * 2} pixels)") from None
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
                raise media_error(path, "cannot read image header") from None
        return self._sizes[index]

    def frame_name(self, index: int) -> str:
        return self.files[self.check_index(index)].name

    def _read(self, index: int) -> np.ndarray:
        frame = read_rgb(self.files[index])
        self._sizes[index] = frame.shape[:2]
        return frame

    def _read_thumbnail(self, index: int, max_side: int) -> np.ndarray:
        path = self.files[index]
        try:
            with Image.open(path) as picture:
                picture.draft("RGB", (max_side, max_side))  # JPEG: decode at reduced size
                picture = Image.fromarray(as_rgb8(ImageOps.exif_transpose(picture)))
                picture.thumbnail((max_side, max_side))
                return np.asarray(picture)
        except Image.DecompressionBombError:
            raise media_error(path, f"image is too large (over {Image.MAX_IMAGE_PIXELS * 2} pixels)") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            return shrink(self.frame(index), max_side)
