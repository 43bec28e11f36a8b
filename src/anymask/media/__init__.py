"""anymask.media: frame sources for video files, frame folders and image folders (`open_source`)."""

from __future__ import annotations

from pathlib import Path

from ..errors import MediaError
from .base import FrameSource, natural_key
from .folder import IMAGE_EXTENSIONS, ImageFolderSource
from .video import VIDEO_EXTENSIONS, VideoSource

__all__ = ["open_source", "FrameSource", "VideoSource", "ImageFolderSource", "MediaError", "natural_key"]


def open_source(path, fps: float | None = None) -> FrameSource:
    """A frame source for a video file, a folder of frames or images, a single image, or a list of images."""
    if isinstance(path, FrameSource):
        return path
    if isinstance(path, (list, tuple)):
        return ImageFolderSource(list(path), fps=fps or 30.0)
    path = Path(path).expanduser()
    if path.is_dir():
        return ImageFolderSource(path, fps=fps or 30.0)
    if not path.exists():
        raise MediaError(f"{path}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return ImageFolderSource([path], fps=fps or 30.0)
    if suffix in VIDEO_EXTENSIONS:
        return VideoSource(path)
    try:  # unknown extension: let FFmpeg decide
        return VideoSource(path)
    except MediaError:
        raise MediaError(f"{path}: unsupported file (not a video or an image anymask can read)") from None
