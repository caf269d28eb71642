"""Undo / redo of saved review actions: per-image snapshots of the working mask and reviewed pixels.

The stacks are rebuilt from the audit log after a restart (:func:`replay`, and
:func:`napari_noisyfix.review.journal.rebuild_history` for the snapshots).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

MAX_ACTIONS = 200
UNDOABLE = ("accept", "reject", "edit", "accept_all")


@dataclass
class ImageState:
    """The working mask and the reviewed-pixel map of one image at one moment."""

    mask: np.ndarray
    reviewed: np.ndarray


@dataclass
class Action:
    """One saved review action, with the state of every image it touched before and after.

    Attributes
    ----------
    kind : str
        ``accept``, ``reject``, ``edit`` or ``accept_all``.
    region_ids : list of str
        Regions the action resolved.
    before, after : mapping
        :class:`ImageState` per image name.
    pixels_changed : int
        Mask pixels that changed.
    row : int
        Audit-log row id of the action.
    extra : dict
        Further details logged with the action (refinement tool, threshold).
    before_stamps, after_stamps : dict
        Journal content keys (:class:`~napari_noisyfix.review.journal.Stamp`) per image name.
    """

    kind: str
    region_ids: list[str]
    before: Mapping[str, ImageState]
    after: Mapping[str, ImageState]
    pixels_changed: int
    row: int = 0
    extra: dict = field(default_factory=dict)
    before_stamps: dict = field(default_factory=dict)
    after_stamps: dict = field(default_factory=dict)


class History:
    """A bounded undo stack and its redo stack."""

    def __init__(self, limit: int = MAX_ACTIONS):
        self.limit = limit
        self.done: list[Action] = []
        self.undone: list[Action] = []

    def push(self, action: Action) -> None:
        """Record a new action; it clears the redo stack."""
        self.done.append(action)
        del self.done[: -self.limit]
        self.undone.clear()

    def last_done(self) -> Action | None:
        """The action an undo would revert, left in place (None if none)."""
        return self.done[-1] if self.done else None

    def last_undone(self) -> Action | None:
        """The action a redo would re-apply, left in place (None if none)."""
        return self.undone[-1] if self.undone else None

    def pop_undo(self) -> Action | None:
        """The last action to undo (moved to the redo stack), or None."""
        return _move(self.done, self.undone)

    def pop_redo(self) -> Action | None:
        """The last undone action to redo (moved back to the undo stack), or None."""
        return _move(self.undone, self.done)


def _move(source: list[Action], target: list[Action]) -> Action | None:
    if not source:
        return None
    target.append(source.pop())
    return target[-1]


def replay(rows: Iterable[dict], journaled: set[int], limit: int = MAX_ACTIONS):
    """Undo and redo stacks (row ids) that the committed review rows ``rows`` leave.

    Only actions in ``journaled`` (those with stored snapshots) can be undone; the rules are
    those of :class:`History`: an action clears the redo stack, undo and redo move one action.
    """
    done: list[int] = []
    undone: list[int] = []
    for row in rows:
        kind, target = row["action"], row["details"].get("row")
        if kind in UNDOABLE and row["id"] in journaled:
            done.append(row["id"])
            del done[:-limit]
            undone.clear()
        elif kind == "undo" and target in done:
            done.remove(target)
            undone.append(target)
        elif kind == "redo" and target in undone:
            undone.remove(target)
            done.append(target)
    return done, undone
