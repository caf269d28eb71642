"""`noisyfix benchmark` end to end at the tiny budget on a generated folder of PNG files."""

import argparse
import json
import math

import numpy as np
import pytest
from PIL import Image

from napari_noisyfix.benchmark.results import REQUIRED, TEXT_KEYS, resolve
from napari_noisyfix.benchmark.review_metrics import BUDGET_KEYS, METHODS
from napari_noisyfix.benchmark.run import benchmark_command
from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.quality.params import PARAMS
from napari_noisyfix.synth.phantoms import make_phantom

NEW_KEYS = (
    *(
        f"review.{k}.{m}.{a}"
        for k in ("dice_after", "gap_recovered")
        for m in METHODS
        for a in BUDGET_KEYS
    ),
    "review.efficiency",
    "review.efficiency.random",
    "review.efficiency.cleanlab",
    "review.top10_precision",
    "review.accepted_unedited",
    "detection.image_dice_r",
    "detection.image_dice_r.cleanlab",
)


def _args(data, out, **extra):
    values = {"noise": 0.5, "seed": 0, "budget": "tiny", "device": "cpu"}
    values |= {"noise_types": "protocol", "truth": None, "labels": "semantic", "arch": "unet"}
    return argparse.Namespace(data=str(data), out=str(out), **(values | extra))


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
    # Seed 1: its tiny model's calibrated queue holds regions for the loop to review. Seed 0's
    # holds none (the 2-step model cannot judge the masks, and an empty queue is then right).
    assert benchmark_command(_args(data, out, seed=1)) == 0
    return out, json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def given_run(tmp_path_factory):
    """The tiny benchmark on real noise (``--truth``), through the command line."""
    from test_benchmark_dataset import write_given_folder

    from napari_noisyfix.cli import main

    base = tmp_path_factory.mktemp("given")
    data, truth = write_given_folder(base)
    out = base / "out"
    argv = ["benchmark", str(data), "--truth", str(truth), "--budget", "tiny", "--device", "cpu"]
    assert main([*argv, "--noise", "0.1", "--out", str(out)]) == 0
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
    assert r["dataset"] == "tinyset" and r["budget"] == "tiny"
    assert r["n_images"] + r["split.n_test"] == 8 and r["split.n_test"] >= 1
    log = json.loads((out / "noise_log.json").read_text())  # every image, the test split too
    assert len(log) == 8 and sum(row["corrupted"] for row in log) == 4
    from napari_noisyfix.project import Project

    names = set(Project.open(out / "project", mode="read").names)
    kept = [row for row in log if row["name"] in names]
    assert len(kept) == r["n_images"]
    assert r["noise.fraction"] == 0.5 and r["noise.n_corrupted"] == sum(
        x["corrupted"] for x in kept
    )
    assert r["noise.mean_noisy_dice"] == pytest.approx(np.mean([x["dice_working"] for x in kept]))
    assert r["noise.source"] == "synthetic" and r["noise.types"] == "protocol"
    assert r["review.dice_before"] == pytest.approx(r["noise.mean_noisy_dice"])
    for method in METHODS:
        curve = [r[f"review.dice_after.{method}.{a}"] for a in BUDGET_KEYS]
        assert all(0.0 <= d <= 1.0 for d in curve)
        assert r[f"review.reviewed.{method}"] <= r["n_images"]  # up to 1 action per image
        shares = sum(r[f"review.share.{method}.{a}"] for a in ("accept", "edit", "reject"))
        assert shares == pytest.approx(1.0 if r[f"review.reviewed.{method}"] else 0.0)
    oracle = [r[f"review.dice_after.oracle.{a}"] for a in BUDGET_KEYS]
    assert oracle == sorted(oracle) and r["review.efficiency.oracle"] == 1.0
    assert r["review.reviewed.oracle"] == min(r["n_images"], r["review.queue_length.oracle"])
    assert r["review.accepted_unedited"] == r["review.share.noisyfix.accept"]
    assert 0.0 <= r["review.top10_precision"] <= 1.0
    assert -1.0 <= r["detection.image_dice_r"] <= 1.0
    assert 0.0 <= r["detection.pixel_ap.noisyfix"] <= 1.0
    assert r["speed.score_to_forward"] == pytest.approx(
        r["speed.score_s_per_image"] / r["speed.forward_s_per_image"]
    )
    assert r["memory.peak_rss_mb"] > 50
    assert r["memory.peak_gpu_mb"] is None  # a CPU run used no GPU memory (NaN, written null)


def test_a_semantic_run_has_no_instance_figures(run):
    out, results = run
    assert not [k for k in results if k.startswith("instance.")]
    assert "AJI" not in (out / "results.md").read_text()
    from napari_noisyfix.project import Project

    assert not Project.open(out / "project", mode="read").is_instance


def test_plots_table_and_review_projects_are_written(run):
    out, results = run
    for png in ("review_curves.png", "pixel_pr.png"):
        assert (out / "plots" / png).stat().st_size > 1000
    table = (out / "results.md").read_text()
    assert "| pixel_ap |" in table and "| oracle |" in table and "tinyset" in table
    # the simulated reviewer went through ReviewSession: its actions are in the audit log
    from napari_noisyfix.project import Project

    for method in ("noisyfix", "random", "cleanlab"):  # the tiny model's own queue may be empty
        rows = Project.open(out / f"review_{method}", mode="read").log.rows("review")
        assert len(rows) == results[f"review.reviewed.{method}"]
        assert {row["reviewer"] for row in rows} <= {"simulated-reviewer"}
    assert results["review.reviewed.cleanlab"] > 0


def test_folder_without_masks_is_refused(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(NoisyFixError, match="masks/"):
        benchmark_command(_args(tmp_path, tmp_path / "o"))


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
    # another planting seed and resolution reach the scoring (its own calibration), recorded
    changes = {"seed": 7, "scales": (1,)}
    seeded = drive(
        rescore_benchmark(out, out.parent / "tinyset", tmp_path / "s", changes), quiet=True
    )
    assert again["calibration.seed"] == PARAMS.calibration.seed != seeded["calibration.seed"] == 7
    assert seeded["calibration.scales"] == [1] and "calibration.scales" not in again

    def key(root):
        manifest = root / "project" / "scores" / "v0001" / "quality_manifest.json"
        return json.loads(manifest.read_text())["calibration_key"]

    assert key(tmp_path / "s") != key(tmp_path / "re")


def test_a_rescore_refuses_an_unknown_or_mistyped_calibration_parameter(run, tmp_path):
    from napari_noisyfix.benchmark.run import calibration_params, rescore_benchmark
    from napari_noisyfix.progress import drive

    out, _ = run
    for changes, words in (
        ({"sclaes": (1,)}, "no parameter 'sclaes'"),
        ({"seed": "3"}, "takes int values"),
    ):
        with pytest.raises(NoisyFixError, match=words):
            drive(
                rescore_benchmark(out, out.parent / "tinyset", tmp_path / "x", changes), quiet=True
            )
        assert not (tmp_path / "x").exists()  # refused before anything is written
    assert calibration_params({"morph_share": 1}).morph_share == 1.0  # an int for a float is fine


def test_real_noise_run_measures_against_the_truth_folder(given_run):
    out, r = given_run
    assert r["noise.source"] == "given" and r["noise.types"] == "given"
    log = json.loads((out / "noise_log.json").read_text())
    assert {row["type"] for row in log} == {"given"} and len(log) == 6
    from napari_noisyfix.project import Project

    names = set(Project.open(out / "project", mode="read").names)
    kept = [row for row in log if row["name"] in names]
    assert r["n_images"] == len(kept) and r["split.n_test"] == 6 - len(kept)
    # the share of the folder's masks that differ, not the --noise 0.1
    assert r["noise.fraction"] == pytest.approx(np.mean([x["corrupted"] for x in log])) == 0.5
    assert r["noise.n_corrupted"] == sum(x["corrupted"] for x in kept)
    assert r["noise.mean_noisy_dice"] == pytest.approx(np.mean([x["dice_working"] for x in kept]))
    assert r["review.dice_before"] == pytest.approx(r["noise.mean_noisy_dice"])
    for key in NEW_KEYS:
        assert isinstance(r[key], (int, float)) and math.isfinite(r[key]), key
    assert r["review.efficiency.oracle"] == 1.0
    assert r["review.dice_after.oracle.0.10"] > r["review.dice_before"]  # 1 action fixes an error
    assert r["review.reviewed.oracle"] == min(r["n_images"], r["review.queue_length.oracle"])


def test_rescore_of_a_real_noise_run_rereads_its_truth(given_run, tmp_path):
    from napari_noisyfix.benchmark.run import rescore_benchmark
    from napari_noisyfix.progress import drive

    out, results = given_run
    data = out.parent / "data"
    again = drive(rescore_benchmark(out, data, tmp_path / "re"), quiet=True)
    assert again["noise.source"] == "given"
    assert again["noise.fraction"] == pytest.approx(results["noise.fraction"])
    for key in ("detection.pixel_ap.noisyfix", "review.dice_after.oracle.0.10"):
        assert again[key] == pytest.approx(results[key])


def test_the_loop_reviews_retrains_and_rescores_in_two_rounds(run):
    out, r = run
    from napari_noisyfix.model.checkpoints import load_checkpoint
    from napari_noisyfix.project import Project

    project = Project.open(out / "loop", mode="read")
    assert Project.open(out / "project", mode="read").model_versions() == [1]  # left as it was
    assert 0 < r["loop.round1.reviewed_share"] <= r["loop.round2.reviewed_share"]
    for k in (1, 2):
        key = f"loop.round{k}"
        assert r[f"{key}.full_retrain_s"] > 0 and r[f"{key}.update_s"] >= 0
        assert r[f"{key}.update_to_full"] == pytest.approx(
            r[f"{key}.update_s"] / r[f"{key}.full_retrain_s"]
        )
        for arm in ("before", "after_update", "full_retrain"):
            assert 0.0 <= r[f"{key}.test_dice.{arm}"] <= 1.0
        assert (out / f"loop_full_round{k}").is_dir()
    # round 1 updated the model: a new, out-of-fold version that scored every image
    updated = r["loop.round1.update_s"] > 0
    assert project.latest_model_version() == r["loop.final_version"] > (1 if updated else 0)
    assert r["loop.round2.label_dice"] >= r["loop.round1.label_dice"] - 1e-9
    # what the update guard did in the last round is what the final version records
    if r["loop.round2.update_s"] > 0:
        guard = load_checkpoint(project.model_dir(r["loop.final_version"])).meta["guard"]
        assert r["loop.round2.guard_kept"] == float("final model" in guard["kept_parent"])
        assert r["loop.round2.guard_judged"] == sum(m["judged"] for m in guard["models"])
        whole = sum(m["judged"] and m["judge"] == "whole images" for m in guard["models"])
        assert r["loop.round2.guard_whole"] == whole
    for k in (1, 2):
        assert r[f"loop.round{k}.guard_kept"] in (0.0, 1.0)
    assert (out / "plots" / "loop.png").stat().st_size > 1000
    assert "| loop | round 1 | round 2 |" in (out / "results.md").read_text()
