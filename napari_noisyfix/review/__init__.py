"""Qt-free review session: accept / reject / edit / skip / undo with an audit trail."""

from .progress import ReviewProgress
from .session import ReviewSession, latest_scored_version

__all__ = ["ReviewProgress", "ReviewSession", "latest_scored_version"]
