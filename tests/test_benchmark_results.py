"""benchmark.results and benchmark.summary: dotted keys, required keys, tables over runs."""

import pytest

from napari_noisyfix.benchmark.results import REQUIRED, missing_keys, resolve, write_results
from napari_noisyfix.errors import NoisyFixError


def test_resolve_literal_and_nested_dotted_keys():
    flat = {"review.dice_after.noisyfix.0.05": 0.9}
    assert resolve(flat, "review.dice_after.noisyfix.0.05") == 0.9
    nested = {"review": {"dice_after": {"noisyfix": {"0.05": 0.8}}}}
    assert resolve(nested, "review.dice_after.noisyfix.0.05") == 0.8
    with pytest.raises(KeyError):
        resolve(nested, "review.dice_after.random.0.05")


def test_write_results_refuses_missing_keys(tmp_path):
    results = dict.fromkeys(REQUIRED, 1.0) | {"dataset": "d", "device": "cpu"}
    assert missing_keys(results) == []
    write_results(tmp_path / "r.json", results)
    del results["speed.train_step_s"]
    results["n_images"] = "eight"
    assert missing_keys(results) == ["n_images", "speed.train_step_s"]
    with pytest.raises(NoisyFixError, match="n_images, speed.train_step_s"):
        write_results(tmp_path / "r.json", results)


def test_summary_tables_read_every_run(tmp_path):
    from napari_noisyfix.benchmark.summary import collect, detection_table, run_facts

    for noise in (0.7, 0.3):
        r = dict.fromkeys(REQUIRED, 0.5) | {"dataset": "cells", "device": "cpu", "budget": "tiny"}
        r |= {"noise.fraction": noise, "detection.pixel_ap_ratio": 1.25, "seconds_total": 12.0}
        write_results(tmp_path / f"run{noise}" / "results.json", r)
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


def test_targets_table_says_met_or_missed_by_how_much():
    from napari_noisyfix.benchmark.summary import targets_table

    r = dict.fromkeys(REQUIRED, 0.5) | {"dataset": "cells", "noise.fraction": 0.5}
    r |= {"detection.pixel_ap.cleanlab": 0.76, "detection.pixel_ap.noisyfix": 0.86}
    r |= {"speed.score_to_forward": 1.2, "training.gap_recovered": None}
    lines = targets_table([r, r | {"noise.fraction": 0.3}]).splitlines()
    assert len(lines) == 2 + 8  # noise 0.3 runs are not held to the targets
    assert (
        "| pixel AP >= 1.25x cleanlab (or half its shortfall to 1) | cells | >= 0.880 | 0.860 | missed by 0.020 |"
        in lines
    )
    assert "| scoring <= 1.3x the forward pass | cells | <= 1.300 | 1.200 | met |" in lines
    assert lines[-2].endswith("| n/a | undefined |")
