"""Everything a refresh after scoring needs, prepared off the UI thread (no Qt here).

A retrain or scoring worker ends by building the new review session and the overlay stacks, so
the UI thread only swaps layer data in: the refresh does not stall the interface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..review import ReviewSession
from .layers import stack


@dataclass
class ScoreView:
    """A review session of a scored version and its overlays, stacked like the image layer."""

    session: ReviewSession
    proposal: np.ndarray
    uncertainty: np.ndarray
    errors: np.ndarray


def image_overlays(project, name: str, shape: tuple[int, int], version: int | None):
    """Model labels, uncertainty (normalised entropy) and label-error score of one image."""
    from ..quality.score import load_maps

    probs = project.load_probs(name, version) if version else None
    if probs is None:
        zeros = np.zeros(shape, np.float32)
        return zeros.astype(np.uint8), zeros, zeros
    maps = load_maps(project, name, version)
    return probs.argmax(0).astype(np.uint8), maps["entropy"], maps["error_score"]


def prepare_scores(project, reviewer: str, names, shapes: dict, canvas, version=None) -> ScoreView:
    """Build the session of ``version`` (newest scored by default) and its overlay stacks."""
    session = ReviewSession(project, reviewer, version)
    session.progress()  # warms the label-quality cache
    parts = [image_overlays(project, n, shapes[n], session.version) for n in names]
    proposal, uncertainty, errors = (stack(list(p), canvas) for p in zip(*parts, strict=True))
    return ScoreView(session, proposal, uncertainty, errors)
