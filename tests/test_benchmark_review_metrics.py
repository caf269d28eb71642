"""benchmark.review_metrics: budgets in actions per image, gap recovered, efficiency, precision."""

import math

import pytest

from napari_noisyfix.benchmark import review_metrics as rm


def test_budgets_are_ceil_of_actions_per_image():
    assert rm.budgets(30) == {
        0.10: 3,
        0.25: 8,
        0.50: 15,
        1.00: 30,
    }  # 0.1 * 30 is 3.0000000000000004
    assert rm.budgets(7) == {0.10: 1, 0.25: 2, 0.50: 4, 1.00: 7}
    assert rm.BUDGET_KEYS == ("0.10", "0.25", "0.50", "1.00")


def test_dice_at_keeps_the_last_dice_when_the_regions_run_out():
    sim = {"dice_before": 0.5, "trace": [0.6, 0.7, 0.9], "actions": ["accept"] * 3}
    steps = {0.1: 0, 0.25: 2, 0.5: 3, 1.0: 10}
    assert rm.dice_at(sim, steps) == {0.1: 0.5, 0.25: 0.7, 0.5: 0.9, 1.0: 0.9}
    assert rm.dice_at({"dice_before": 0.5, "trace": []}, steps) == dict.fromkeys(steps, 0.5)


def test_gap_area_and_efficiency_on_a_constructed_curve():
    sim = {"dice_before": 0.6, "trace": [0.7, 0.8, 0.9, 1.0], "actions": []}
    gaps = rm.gap_curve(sim, {0.10: 1, 0.25: 2, 0.50: 3, 1.00: 4})
    assert list(gaps.values()) == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert rm.gap_recovered(0.9, 1.0) == 1.0  # no gap: nothing left to recover
    # trapezoids through (0, 0): 0.1*0.125 + 0.15*0.375 + 0.25*0.625 + 0.5*0.875
    assert rm.curve_area(gaps) == pytest.approx(0.6625)
    oracle = dict.fromkeys(gaps, 1.0)
    assert rm.curve_area(oracle) == pytest.approx(0.95)
    assert rm.efficiency(gaps, oracle) == pytest.approx(0.6625 / 0.95)
    assert rm.efficiency(oracle, oracle) == 1.0
    assert math.isnan(rm.efficiency(gaps, dict.fromkeys(gaps, 0.0)))
    out = rm.efficiency_results({"noisyfix": gaps, "random": gaps, "oracle": oracle})
    assert out == {
        "review.efficiency": pytest.approx(0.6625 / 0.95),
        "review.efficiency.random": pytest.approx(0.6625 / 0.95),
        "review.efficiency.oracle": 1.0,
    }


def test_top_precision_is_the_share_of_accepts_among_the_first_ten():
    actions = ["accept"] * 8 + ["edit", "reject"] + ["edit"] * 5
    assert rm.top_precision(actions) == 0.8
    assert rm.top_precision(["accept", "edit", "accept"]) == pytest.approx(2 / 3)
    assert rm.top_precision([]) == 0.0  # an empty queue fixes nothing


def test_review_results_has_flat_keys_per_budget_and_action():
    sim = {
        "dice_before": 0.5,
        "trace": [0.75, 1.0],
        "actions": ["accept", "edit"],
        "seconds_per_action": 0.1,
    }
    out = rm.review_results("noisyfix", sim, rm.budgets(4))
    assert out["review.dice_after.noisyfix.0.10"] == 0.75
    assert out["review.dice_after.noisyfix.1.00"] == 1.0
    assert out["review.gap_recovered.noisyfix.0.25"] == 0.5
    assert out["review.gap_recovered.noisyfix.0.50"] == 1.0
    assert out["review.share.noisyfix.accept"] == 0.5
    assert out["review.share.noisyfix.reject"] == 0.0
    assert out["review.reviewed.noisyfix"] == 2


def test_measure_results_compares_every_order_with_the_oracle():
    def walk(trace, actions):
        return {"dice_before": 0.5, "trace": trace, "actions": actions, "seconds_per_action": 0.0}

    sims = {
        "noisyfix": walk([0.75, 1.0], ["accept", "edit"]),
        "random": walk([0.5, 0.75], ["reject", "accept"]),
        "cleanlab": walk([], []),
        "oracle": walk([1.0], ["edit"]),
    }
    out = rm.measure_results(sims, rm.budgets(2))  # budgets of 1, 1, 1 and 2 actions
    # gap curves 0.5, 0.5, 0.5, 1 (tool); 0, 0, 0, 0.5 (random); 0 (cleanlab); 1 (oracle)
    assert out["review.efficiency"] == pytest.approx(
        rm.curve_area({0.1: 0.5, 0.25: 0.5, 0.5: 0.5, 1.0: 1.0}) / 0.95
    )
    assert out["review.efficiency.random"] == pytest.approx(0.25 * 0.5 / 0.95)
    assert out["review.efficiency.cleanlab"] == 0.0
    assert out["review.efficiency.oracle"] == 1.0
    assert out["review.top10_precision"] == 0.5 and out["review.accepted_unedited"] == 0.5
    assert out["review.dice_after.cleanlab.1.00"] == out["review.dice_before"] == 0.5
