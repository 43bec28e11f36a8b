"""anymask.tracking: the SAM 2 video tracker (`VideoTracker`)."""

from .tracker import VideoTracker

__all__ = ["VideoTracker"]
