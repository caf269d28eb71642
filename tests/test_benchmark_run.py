"""`noisyfix benchmark` end to end at the tiny budget on a generated folder of PNG files."""

import argparse
import json
import math

import numpy as np
import pytest
from PIL import Image

from napari_noisyfix.benchmark.results import REQUIRED, TEXT_KEYS, resolve
from napari_noisyfix.benchmark.run import benchmark_command
from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.synth.phantoms import make_phantom


def _write_folder(root, n=8, size=64):
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(n):
        image, mask = make_phantom(rng, size, "nuclei")
        Image.fromarray(image).save(root / "images" / f"cell{i:02d}.png")
        Image.fromarray(mask * 255).save(root / "masks" / f"cell{i:02d}.png")
    return root


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    base = tmp_path_factory.mktemp("bench")
    data = _write_folder(base / "tinyset")
    out = base / "out"
    args = argparse.Namespace(
        data=str(data), noise=0.5, seed=0, budget="tiny", device="cpu", out=str(out)
    )
    assert benchmark_command(args) == 0
    return out, json.loads((out / "results.json").read_text())


def test_every_required_key_resolves_to_a_number(run):
    _, results = run
    for key in REQUIRED:
        value = resolve(results, key)
        if key in TEXT_KEYS:
            assert isinstance(value, str) and value, key
        elif key == "training.gap_recovered" and value is None:
            # undefined only when the clean ceiling is not above plain training
            ceiling = results["training.test_dice.ce_clean"]
            assert ceiling <= results["training.test_dice.ce_noisy"]
        else:
            assert isinstance(value, (int, float)) and math.isfinite(value), key


def test_values_are_consistent_with_the_protocol(run):
    out, r = run
    assert r["dataset"] == "tinyset" and r["n_images"] == 8 and r["budget"] == "tiny"
    assert r["noise.fraction"] == 0.5 and r["noise.n_corrupted"] == 4
    log = json.loads((out / "noise_log.json").read_text())
    assert sum(row["corrupted"] for row in log) == 4
    assert r["noise.mean_noisy_dice"] == pytest.approx(
        np.mean([row["dice_working"] for row in log])
    )
    assert r["review.dice_before"] == pytest.approx(r["noise.mean_noisy_dice"])
    for method in ("noisyfix", "random", "cleanlab"):
        curve = [r[f"review.dice_after.{method}.{f}"] for f in ("0.05", "0.10", "0.25", "0.50")]
        assert all(0.0 <= d <= 1.0 for d in curve)
        assert r[f"review.reviewed.{method}"] <= math.ceil(0.5 * r["review.queue_length.noisyfix"])
        shares = sum(r[f"review.share.{method}.{a}"] for a in ("accept", "edit", "reject"))
        assert shares == pytest.approx(1.0)
    assert r["review.accepted_unedited"] == r["review.share.noisyfix.accept"]
    assert 0.0 <= r["detection.pixel_ap.noisyfix"] <= 1.0
    assert r["speed.score_to_forward"] == pytest.approx(
        r["speed.score_s_per_image"] / r["speed.forward_s_per_image"]
    )
    assert r["memory.peak_rss_mb"] > 50


def test_plots_table_and_review_projects_are_written(run):
    out, results = run
    for png in ("review_curves.png", "pixel_pr.png"):
        assert (out / "plots" / png).stat().st_size > 1000
    table = (out / "results.md").read_text()
    assert "| pixel_ap |" in table and "| noisyfix |" in table and "tinyset" in table
    # the simulated reviewer went through ReviewSession: its actions are in the audit log
    from napari_noisyfix.project import Project

    rows = Project.open(out / "review_noisyfix").log.rows("review")
    assert len(rows) == results["review.reviewed.noisyfix"]
    assert {row["reviewer"] for row in rows} == {"simulated-reviewer"}


def test_folder_without_masks_is_refused(tmp_path):
    (tmp_path / "images").mkdir()
    args = argparse.Namespace(
        data=str(tmp_path), noise=0.5, seed=0, budget="tiny", device="cpu", out=str(tmp_path / "o")
    )
    with pytest.raises(NoisyFixError, match="masks/"):
        benchmark_command(args)


def test_rescore_reuses_the_stored_probabilities_and_leaves_the_run_alone(run, tmp_path):
    from napari_noisyfix.benchmark.run import rescore_benchmark
    from napari_noisyfix.progress import drive

    out, results = run
    before = (out / "results.json").read_text()
    again = drive(rescore_benchmark(out, out.parent / "tinyset", tmp_path / "re"), quiet=True)
    for key in ("detection.pixel_ap.noisyfix", "detection.image_auroc.cleanlab"):
        assert again[key] == pytest.approx(results[key])  # same code, same probabilities
    assert again["review.queue_length.noisyfix"] == results["review.queue_length.noisyfix"]
    assert json.loads((tmp_path / "re" / "results.json").read_text())["rescored_from"] == str(out)
    assert (out / "results.json").read_text() == before
    with pytest.raises(NoisyFixError, match="already exists"):
        drive(rescore_benchmark(out, out.parent / "tinyset", tmp_path / "re"), quiet=True)
