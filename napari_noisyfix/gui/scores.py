"""Everything a refresh after scoring needs, prepared off the UI thread (no Qt here).

A retrain or scoring worker ends by building the new review session and the overlay stacks, so
the UI thread only swaps layer data in: the refresh does not stall the interface. The overlays
are :class:`~.lazy_stack.LazyStack` s: an image's are read when its slice is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..errors import NoisyFixError
from ..quality.score import load_image_scores, load_verdict
from ..quality.verdict import Verdict
from ..review import ReviewSession
from .lazy_stack import LazyStack


@dataclass
class ScoreView:
    """A review session of a scored version, its overlays (stacked like the image layer), the
    calibration verdict and the per-image estimates.

    Attributes
    ----------
    verdict : Verdict or None
        Can the model judge these masks (None before anything is scored).
    est_dice : dict
        Estimated Dice of each image's mask against the truth, by image name.
    image_error : dict
        Probability that each image's mask holds an error, by image name.
    """

    session: ReviewSession
    proposal: LazyStack
    uncertainty: LazyStack
    errors: LazyStack
    verdict: Verdict | None = None
    est_dice: dict[str, float] = field(default_factory=dict)
    image_error: dict[str, float] = field(default_factory=dict)


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
    view = ScoreView(session, *overlay_stacks(project, names, shapes, canvas, session.version))
    if session.version is not None:
        view.verdict = load_verdict(project, session.version)
        view.est_dice, view.image_error = image_estimates(project, session.version)
    return view


def overlay_stacks(project, names, shapes: dict, canvas, version) -> tuple[LazyStack, ...]:
    """Model labels, uncertainty and label-error stacks of ``names`` (see :func:`image_overlays`);
    the three layers of the image on screen share one read of its files."""
    read = lru_cache(maxsize=4)(lambda name: image_overlays(project, name, shapes[name], version))
    dtypes = (np.uint8, np.float32, np.float32)
    return tuple(
        LazyStack(names, canvas, lambda n, k=k: read(n)[k], dtype) for k, dtype in enumerate(dtypes)
    )


def image_estimates(project, version: int) -> tuple[dict[str, float], dict[str, float]]:
    """Estimated mask Dice and P(mask holds an error) of each image (empty when not stored)."""
    try:
        rows = load_image_scores(project, version)
    except NoisyFixError:
        return {}, {}
    est = {r["image"]: float(r.get("est_dice", np.nan)) for r in rows}
    return est, {r["image"]: float(r.get("error_score", np.nan)) for r in rows}
