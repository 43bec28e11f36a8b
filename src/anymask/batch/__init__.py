"""anymask.batch: track a whole collection of videos from a manifest, one Ray task per video."""

from .job import BatchOptions, VideoResult, track_video
from .manifest import Seeds, VideoEntry, read_manifest
from .runner import BatchSummary, run

__all__ = ["BatchOptions", "BatchSummary", "Seeds", "VideoEntry", "VideoResult", "read_manifest", "run", "track_video"]
