"""Undo / redo of saved review actions: per-image snapshots of the working mask and reviewed pixels."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

MAX_ACTIONS = 200


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
    before, after : dict
        :class:`ImageState` per image name.
    pixels_changed : int
        Mask pixels that changed.
    row : int
        Audit-log row id of the action.
    """

    kind: str
    region_ids: list[str]
    before: dict[str, ImageState]
    after: dict[str, ImageState]
    pixels_changed: int
    row: int = 0
    extra: dict = field(default_factory=dict)


def write_state(project, name: str, state: ImageState) -> None:
    """Write a snapshot back to disk: the mask (atomically) and the exact reviewed map.

    ``Project.mark_reviewed`` only adds pixels, so an undo restores the map with
    ``Project.set_reviewed``.
    """
    project.save_mask(name, state.mask)
    project.set_reviewed(name, state.reviewed)


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
