"""Qt-free review session: accept / reject / edit / skip / undo with an audit trail.

The session is imported on first use, so that :mod:`napari_noisyfix.project` can import the
light :mod:`.journal` (recovery on open) without loading the quality engine.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "ReviewProgress": ".progress",
    "ReviewSession": ".session",
    "latest_scored_version": ".session",
}

__all__ = ["ReviewProgress", "ReviewSession", "latest_scored_version"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
