"""benchmark.oracle: one action per wrong component, largest first, exact fixes."""

import numpy as np
import pytest

from napari_noisyfix.benchmark import oracle, review_metrics
from napari_noisyfix.evaluate import dice


def _masks():
    truth = {n: np.zeros((12, 12), np.uint8) for n in ("a", "b", "c")}
    truth["a"][2:6, 2:6] = 1
    truth["b"][6:10, 6:10] = 1
    given = {n: m.copy() for n, m in truth.items()}
    given["a"][2:6, 2:4] = 0  # 8 pixels eroded
    given["a"][9, 9] = 1  # 1 spurious pixel
    given["b"][0:2, 0:2] = 1  # 4 spurious pixels
    given["b"][6:8, 6:8] = 0  # 4 pixels missing, same size: after the first in raster order
    given["b"][11, 0] = given["b"][10, 1] = 1  # one 8-connected component of 2 pixels
    return given, truth


def test_fixes_are_components_largest_first_ties_by_image_then_position():
    given, truth = _masks()
    fixes = oracle.oracle_fixes(given, truth)
    assert [(f.image, f.area) for f in fixes] == [("a", 8), ("b", 4), ("b", 4), ("b", 2), ("a", 1)]
    assert np.unravel_index(fixes[1].pixels[0], (12, 12)) == (0, 0)
    assert np.unravel_index(fixes[2].pixels[0], (12, 12)) == (6, 6)


def test_simulate_oracle_fixes_exactly_and_counts_one_action_per_component():
    given, truth = _masks()
    fixes = oracle.oracle_fixes(given, truth)
    sim = oracle.simulate_oracle(fixes, given, truth, n_actions=10)
    before = np.mean([dice(given[n], truth[n]) for n in sorted(given)])
    assert sim["dice_before"] == pytest.approx(before)
    assert sim["actions"] == ["edit"] * 5 and sim["trace"][-1] == 1.0
    first = {"a": given["a"] | truth["a"], "b": given["b"], "c": given["c"]}  # a's 8 fixed
    assert sim["trace"][0] == pytest.approx(np.mean([dice(first[n], truth[n]) for n in first]))
    assert np.all(np.diff(sim["trace"]) > 0)
    assert given["a"][2, 2] == 0  # the given masks are left alone
    steps = {0.10: 1, 0.25: 2, 0.50: 3, 1.00: 6}
    curve = review_metrics.gap_curve(sim, steps)
    assert curve[1.00] == 1.0  # ran out of components: the last Dice is kept
    assert review_metrics.efficiency(curve, curve) == 1.0  # its own area over itself
    short = oracle.simulate_oracle(fixes, given, truth, n_actions=2)
    assert short["trace"] == sim["trace"][:2]
