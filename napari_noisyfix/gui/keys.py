"""Review actions: one key and one button each, bound on the viewer while the widget lives.

The keys avoid napari's own Labels keys (1-7, E, P, F, L, Z, M, X, B, -, =, [, ], Ctrl+Z), so the
brush, eraser, fill and the layer's own stroke undo keep working while the working mask is active.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ReviewAction:
    """A review action: the widget method it calls, its key and its button text."""

    method: str
    key: str
    label: str
    help: str


ACTIONS = (
    ReviewAction("accept", "A", "Accept", "write the proposal (refined if a tool is chosen)"),
    ReviewAction("reject", "R", "Reject", "the given mask was right here"),
    ReviewAction("commit_edit", "C", "Commit edit", "save your brush / eraser / fill edits"),
    ReviewAction("skip", "S", "Skip", "leave the region open, go on"),
    ReviewAction("previous", "Shift-N", "Previous", "previous open region"),
    ReviewAction("next", "N", "Next", "next open region"),
    ReviewAction("undo", "U", "Undo", "undo the last saved action"),
    ReviewAction("redo", "Shift-U", "Redo", "redo the last undone action"),
)


def key_text(key: str) -> str:
    """How a key is written on buttons and in the key list."""
    return key.replace("-", "+")


class KeyBinder:
    """Binds review actions on a viewer and restores what was there on :meth:`unbind`."""

    def __init__(self, viewer):
        self.viewer = viewer
        self._previous: dict[str, Callable | None] = {}

    def bind(self, target) -> None:
        """Bind each action's key to ``getattr(target, action.method)``."""
        for action in ACTIONS:
            method = getattr(target, action.method)
            previous = self.viewer.bind_key(action.key, _call(method), overwrite=True)
            self._previous.setdefault(action.key, previous)

    def unbind(self) -> None:
        """Remove the review keys (putting back any binding they replaced)."""
        for key, previous in self._previous.items():
            self.viewer.bind_key(key, previous, overwrite=True)
        self._previous.clear()

    @property
    def bound(self) -> bool:
        """Whether the keys are currently bound."""
        return bool(self._previous)


def _call(method: Callable) -> Callable:
    def on_key(viewer):
        method()

    on_key.__doc__ = method.__doc__
    return on_key
