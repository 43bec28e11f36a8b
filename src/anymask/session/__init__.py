"""anymask.session: the headless annotation workflow (Session) and its events."""

from .events import Event
from .session import Session

__all__ = ["Session", "Event"]
