"""anymask.session: the headless annotation workflow (Session), its events, review list and tracking jobs."""

from .events import Event
from .review import ReviewItem
from .runs import TrackingJob
from .session import Session

__all__ = ["Session", "Event", "ReviewItem", "TrackingJob"]
