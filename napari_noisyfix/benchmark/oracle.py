"""Measure 2's oracle order: the best a reviewer could do with one action per error.

Each 8-connected component of ``given != truth``, over all images, is one action that sets
exactly those pixels to the truth; the largest component goes first (ties by image name, then by
the component's first pixel in raster order). The walk runs on arrays (no review session): its
label Dice is computed as for the other orders
(:class:`~napari_noisyfix.benchmark.review_metrics.LabelDice`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .review_metrics import LabelDice

_EIGHT = np.ones((3, 3), bool)


@dataclass(frozen=True)
class Fix:
    """One oracle action: the flat pixel indices of one wrong component of an image."""

    image: str
    pixels: np.ndarray

    @property
    def area(self) -> int:
        """Pixels the action fixes."""
        return int(self.pixels.size)


def _components(name: str, wrong: np.ndarray) -> list[tuple[int, str, int, Fix]]:
    """``(-area, name, first pixel, Fix)`` of each wrong component of one image."""
    labels, n = ndimage.label(wrong, _EIGHT)
    if not n:
        return []
    flat = labels.ravel()
    order = np.argsort(flat, kind="stable")  # by label, raster order within a label
    bounds = np.cumsum(np.bincount(flat, minlength=n + 1))
    out = []
    for k in range(1, n + 1):
        pixels = order[bounds[k - 1] : bounds[k]]
        out.append((-pixels.size, name, int(pixels[0]), Fix(name, pixels)))
    return out


def oracle_fixes(given: dict[str, np.ndarray], truth: dict[str, np.ndarray]) -> list[Fix]:
    """Every wrong component of every image, largest first (ties: image name, first pixel)."""
    found = [c for name in sorted(given) for c in _components(name, given[name] != truth[name])]
    return [fix for *_, fix in sorted(found, key=lambda c: c[:3])]


def simulate_oracle(
    fixes: list[Fix], given: dict[str, np.ndarray], truth: dict[str, np.ndarray], n_actions: int
) -> dict:
    """Apply the first ``n_actions`` fixes to copies of the given masks.

    Parameters
    ----------
    fixes : list of Fix
        From :func:`oracle_fixes` on the same masks.
    given, truth : dict
        Given and true masks by name (every image of the set).
    n_actions : int
        Actions to take at most.

    Returns
    -------
    dict
        As :func:`~napari_noisyfix.benchmark.review_sim.simulate`: ``dice_before``, ``trace``
        (label Dice after each action), ``actions`` (each an ``edit``), ``seconds_per_action``.
    """
    work = {n: np.array(m, copy=True, order="C") for n, m in given.items()}
    tracker = LabelDice(work.__getitem__, truth)
    out = {"dice_before": tracker.mean, "trace": [], "actions": []}
    start = time.perf_counter()
    for fix in fixes[:n_actions]:
        work[fix.image].reshape(-1)[fix.pixels] = truth[fix.image].ravel()[fix.pixels]
        tracker.update(fix.image)
        out["trace"].append(tracker.mean)
        out["actions"].append("edit")
    out["seconds_per_action"] = (time.perf_counter() - start) / max(len(out["actions"]), 1)
    return out
