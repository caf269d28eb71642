"""Qt-free review session: accept / reject / edit / skip / undo with an audit trail."""

from .progress import ReviewProgress
from .session import ReviewSession, scored_version

__all__ = ["ReviewProgress", "ReviewSession", "scored_version"]
