"""anymask.session: the headless annotation workflow (Session), its events, review list and tracking jobs."""

from .events import Event
from .review import ReviewItem
from .session import Session
from .tracking import TrackingJob

__all__ = ["Session", "Event", "ReviewItem", "TrackingJob"]
