"""benchmark.results and benchmark.summary: dotted keys, required keys, tables over runs."""

import pytest

from napari_noisyfix.benchmark.results import (
    REQUIRED,
    markdown_table,
    missing_keys,
    resolve,
    write_results,
)
from napari_noisyfix.errors import NoisyFixError


def _run(value=0.5, **extra) -> dict:
    """A results dict with every required key: numbers ``value``, protocol noise."""
    r = dict.fromkeys(REQUIRED, value)
    r |= {"dataset": "cells", "device": "cpu", "budget": "tiny"}
    return r | {"noise.source": "synthetic", "noise.types": "protocol"} | extra


def test_resolve_literal_and_nested_dotted_keys():
    flat = {"review.dice_after.noisyfix.0.10": 0.9}
    assert resolve(flat, "review.dice_after.noisyfix.0.10") == 0.9
    nested = {"review": {"dice_after": {"noisyfix": {"0.10": 0.8}}}}
    assert resolve(nested, "review.dice_after.noisyfix.0.10") == 0.8
    with pytest.raises(KeyError):
        resolve(nested, "review.dice_after.random.0.10")


def test_required_keys_are_the_actions_per_image_budgets_of_four_orders():
    for method in ("noisyfix", "random", "cleanlab", "oracle"):
        for a in ("0.10", "0.25", "0.50", "1.00"):
            assert f"review.dice_after.{method}.{a}" in REQUIRED
    for key in ("review.efficiency", "review.top10_precision", "detection.image_dice_r"):
        assert key in REQUIRED
    assert not [k for k in REQUIRED if k.endswith(".0.05")]


def test_write_results_refuses_missing_keys(tmp_path):
    results = _run(1.0)
    assert missing_keys(results) == []
    write_results(tmp_path / "r.json", results)
    del results["speed.train_step_s"]
    results["n_images"] = "eight"
    results["noise.source"] = 1.0
    assert missing_keys(results) == ["n_images", "noise.source", "speed.train_step_s"]
    with pytest.raises(NoisyFixError, match="n_images, noise.source, speed.train_step_s"):
        write_results(tmp_path / "r.json", results)


def test_markdown_table_shows_the_four_orders_and_the_noise():
    table = markdown_table(_run(0.5, **{"review.efficiency.oracle": 1.0}))
    assert "| oracle | 0.500 | 0.500 | 0.500 | 0.500 | 1.000 |" in table
    assert "top-10 precision (noisyfix): 0.500" in table
    assert "| image Dice r | 0.500 | 0.500 | |" in table
    assert "noise 0.5 (protocol, seed 0.5)" in table
    given = markdown_table(_run(0.5, **{"noise.source": "given", "noise.fraction": 0.4}))
    assert "given noise (0.400 of the masks differ from the truth)" in given


def test_summary_tables_read_every_run(tmp_path):
    from napari_noisyfix.benchmark.summary import collect, detection_table, run_facts

    for noise in (0.7, 0.3):
        r = _run(**{"noise.fraction": noise, "detection.pixel_ap_ratio": 1.25})
        write_results(tmp_path / f"run{noise}" / "results.json", r | {"seconds_total": 12.0})
    runs = collect([tmp_path])
    assert [r["noise.fraction"] for r in runs] == [0.3, 0.7]
    table = detection_table(runs).splitlines()
    assert table[0].startswith("| dataset | noise | noisy Dice | pixel AP ours")
    assert (
        table[2] == "| cells | 0.300 | 0.500 | 0.500 | 0.500 | 1.250 | 0.500 | 0.500 | n/a | n/a |"
    )
    assert str(tmp_path / "run0.3") in run_facts(runs)
    with pytest.raises(NoisyFixError, match="no results.json"):
        collect([tmp_path / "nothing"])


def test_noise_label_names_the_types_and_real_noise():
    from napari_noisyfix.benchmark.summary import noise_label

    assert noise_label({"noise.fraction": 0.5}) == "0.500"  # a run older than noise types
    assert noise_label(_run(**{"noise.types": "realistic"})) == "0.500 realistic"
    assert noise_label(_run(**{"noise.source": "given", "noise.fraction": 0.25})) == "given (0.250)"


def test_review_tables_show_every_order_and_the_headline_figures():
    from napari_noisyfix.benchmark.summary import review_curve_table, review_table

    r = _run(**{"review.dice_before": 0.8, "review.dice_after.oracle.1.00": 1.0})
    r |= {"review.efficiency": 0.7, "review.efficiency.oracle": 1.0}
    curves = review_curve_table([r]).splitlines()
    assert curves[0] == (
        "| dataset | noise | order | Dice before | 0.10 actions/image | 0.25 actions/image "
        "| 0.50 actions/image | 1.00 actions/image | efficiency |"
    )
    assert [line.split(" | ")[2] for line in curves[2:]] == [
        "noisyfix",
        "random",
        "cleanlab",
        "oracle",
    ]
    assert (
        curves[-1] == "| cells | 0.500 | oracle | 0.800 | 0.500 | 0.500 | 0.500 | 1.000 | 1.000 |"
    )
    table = review_table([r, {"dataset": "old", "noise.fraction": 0.5}]).splitlines()
    assert table[0] == (
        "| dataset | noise | efficiency | top-10 precision | accepted unedited "
        "| image Dice r ours | image Dice r cleanlab |"
    )
    assert table[2:] == ["| cells | 0.500 | 0.700 | 0.500 | 0.500 | 0.500 | 0.500 |"]


def test_targets_table_says_met_or_missed_by_how_much():
    from napari_noisyfix.benchmark.summary import targets_table

    r = _run(**{"detection.pixel_ap.cleanlab": 0.76, "detection.pixel_ap.noisyfix": 0.86})
    r |= {"speed.score_to_forward": 1.2, "training.gap_recovered": None}
    r |= {"review.efficiency": 0.85, "detection.image_dice_r": 0.91}
    others = [r | {"noise.fraction": 0.3}, r | {"noise.source": "given"}]
    lines = targets_table([r, *others]).splitlines()
    assert len(lines) == 2 + 9  # noise 0.3 and real-noise runs are not held to the targets
    assert (
        "| pixel AP >= 1.25x cleanlab (or half its shortfall to 1) | cells | 0.500 | >= 0.880 "
        "| 0.860 | missed by 0.020 |" in lines
    )
    assert (
        "| review efficiency (over the oracle's) >= 0.8 | cells | 0.500 | >= 0.800 | 0.850 | met |"
        in lines
    )
    assert (
        "| precision of the first 10 regions >= 0.9 | cells | 0.500 | >= 0.900 | 0.500 "
        "| missed by 0.400 |" in lines
    )
    assert (
        "| estimated vs true image Dice, Pearson r >= 0.9 | cells | 0.500 | >= 0.900 | 0.910 | met |"
        in lines
    )
    assert "| scoring <= 1.3x the forward pass | cells | 0.500 | <= 1.300 | 1.200 | met |" in lines
    assert lines[-2].endswith("| n/a | undefined |")
    realistic = targets_table([r | {"noise.types": "realistic"}])
    assert "| cells | 0.500 realistic | >= 0.800 | 0.850 | met |" in realistic
