"""Measure 2's figures from simulated reviews, with effort counted in review actions per image.

A walk (:func:`~napari_noisyfix.benchmark.review_sim.simulate`,
:func:`~napari_noisyfix.benchmark.oracle.simulate_oracle`) returns the label Dice before any
action (``dice_before``), the label Dice after each action (``trace``) and the actions taken
(``actions``: ``accept``, ``edit`` or ``reject``, each counting 1). From it:

- label Dice after ``ceil(a * N)`` actions for ``a`` in :data:`ACTIONS_PER_IMAGE` (``N`` images
  in the project); a walk that ran out of regions keeps its last Dice for the larger budgets;
- the share of the noisy-to-clean gap recovered, ``(dice - before) / (1 - before)`` (1 when
  there is no gap);
- efficiency: the trapezoid area under gap recovered over actions per image through ``(0, 0)``
  and the budgets, over the oracle's area;
- top-10 precision: the share of the first :data:`TOP` regions whose proposal the reviewer
  accepts (it accepts exactly when the proposal, taken as is, lowers the number of wrong pixels
  of its image); 0 for an empty queue.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

import numpy as np

from ..evaluate import dice

ACTIONS_PER_IMAGE = (0.10, 0.25, 0.50, 1.00)
METHODS = ("noisyfix", "random", "cleanlab", "oracle")
ACTIONS = ("accept", "edit", "reject")
TOP = 10


def budget_key(rate: float) -> str:
    """The key of an actions-per-image budget in ``results.json`` (``"0.10"``)."""
    return f"{rate:.2f}"


BUDGET_KEYS = tuple(budget_key(a) for a in ACTIONS_PER_IMAGE)


def budgets(n_images: int, rates=ACTIONS_PER_IMAGE) -> dict[float, int]:
    """Actions allowed at each rate: ``ceil(rate * n_images)`` (``{rate: actions}``)."""
    return {a: int(math.ceil(round(a * n_images, 9))) for a in rates}


class LabelDice:
    """Mean over all images of the Dice of the working mask against the true mask, updated
    image by image.

    Parameters
    ----------
    mask_of : callable
        ``mask_of(name)``: the current working mask of an image.
    truth : dict
        True masks by name (every image of the set).
    """

    def __init__(self, mask_of: Callable[[str], np.ndarray], truth: dict[str, np.ndarray]):
        self.mask_of, self.truth = mask_of, truth
        self.dice = {n: dice(mask_of(n), t) for n, t in truth.items()}

    def update(self, name: str) -> None:
        """Recompute the Dice of one image after its mask changed."""
        self.dice[name] = dice(self.mask_of(name), self.truth[name])

    @property
    def mean(self) -> float:
        """The label Dice of the set."""
        return float(np.mean(list(self.dice.values())))


def dice_at(sim: dict, steps: dict[float, int]) -> dict[float, float]:
    """Label Dice after each budget of ``steps`` (``{rate: actions}``) of a walk."""
    trace = sim["trace"]
    out = {}
    for rate, n in steps.items():
        out[rate] = trace[min(n, len(trace)) - 1] if n and trace else sim["dice_before"]
    return out


def gap_recovered(value: float, before: float) -> float:
    """Share of the gap from ``before`` to a perfect label Dice of 1 that ``value`` closes."""
    gap = 1.0 - before
    return (value - before) / gap if gap > 0 else 1.0


def gap_curve(sim: dict, steps: dict[float, int]) -> dict[float, float]:
    """Gap recovered after each budget of a walk (``{rate: share}``)."""
    return {a: gap_recovered(d, sim["dice_before"]) for a, d in dice_at(sim, steps).items()}


def curve_area(curve: dict[float, float]) -> float:
    """Trapezoid area under ``{rate: gap recovered}`` through ``(0, 0)`` and every point."""
    xs = np.array([0.0, *sorted(curve)])
    ys = np.array([0.0, *(curve[x] for x in sorted(curve))])
    return float(np.sum(np.diff(xs) * (ys[1:] + ys[:-1]) / 2))


def efficiency(curve: dict[float, float], oracle: dict[float, float]) -> float:
    """Area under ``curve`` over the oracle's (NaN when the oracle's area is 0)."""
    reference = curve_area(oracle)
    return curve_area(curve) / reference if reference > 0 else float("nan")


def top_precision(actions: list[str], top: int = TOP) -> float:
    """Share of accepts among the first ``top`` actions (of all there are when fewer; 0 for an
    empty queue, which fixes nothing, as its efficiency and accepted share are 0)."""
    first = actions[:top]
    return sum(a == "accept" for a in first) / len(first) if first else 0.0


def review_results(method: str, sim: dict, steps: dict[float, int]) -> dict[str, float]:
    """Flat ``review.*`` keys of one order: Dice and gap recovered per budget, action shares,
    regions reviewed and seconds per action."""
    out = {f"review.dice_after.{method}.{budget_key(a)}": d for a, d in dice_at(sim, steps).items()}
    for a, g in gap_curve(sim, steps).items():
        out[f"review.gap_recovered.{method}.{budget_key(a)}"] = g
    counts, total = Counter(sim["actions"]), max(len(sim["actions"]), 1)
    for action in ACTIONS:
        out[f"review.share.{method}.{action}"] = counts[action] / total
    out[f"review.reviewed.{method}"] = len(sim["actions"])
    out[f"review.seconds_per_action.{method}"] = sim["seconds_per_action"]
    return out


def efficiency_key(method: str) -> str:
    """The efficiency key of an order: ``review.efficiency`` for the tool, else
    ``review.efficiency.{method}``."""
    return "review.efficiency" if method == "noisyfix" else f"review.efficiency.{method}"


def efficiency_results(curves: dict[str, dict[float, float]]) -> dict[str, float]:
    """The efficiency of every order (:func:`efficiency_key`) from the gap curves by method,
    the oracle's among them (its own is 1 by construction)."""
    return {efficiency_key(m): efficiency(c, curves["oracle"]) for m, c in curves.items()}


def measure_results(sims: dict[str, dict], steps: dict[float, int]) -> dict[str, float]:
    """Every ``review.*`` figure of the walks of :data:`METHODS` (``{method: walk}``): per order
    (:func:`review_results`), the efficiencies, ``review.top10_precision`` and
    ``review.accepted_unedited`` of the tool's walk and the label Dice before review."""
    out: dict[str, float] = {}
    for method, sim in sims.items():
        out |= review_results(method, sim, steps)
    out |= efficiency_results({m: gap_curve(sim, steps) for m, sim in sims.items()})
    out["review.top10_precision"] = top_precision(sims["noisyfix"]["actions"])
    out["review.accepted_unedited"] = out["review.share.noisyfix.accept"]
    out["review.dice_before"] = sims["noisyfix"]["dice_before"]
    return out
