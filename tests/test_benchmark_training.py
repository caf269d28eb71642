"""benchmark.training: step timing of training jobs."""

from napari_noisyfix.benchmark.training import timed_steps
from napari_noisyfix.progress import Progress, drive


def test_timed_steps_counts_consecutive_steps_of_a_stage():
    def job():
        for stage, step in (("f1", 1), ("f1", 2), ("f1", 2), ("f1", 3), ("f2", 1), ("f2", 2)):
            yield Progress(stage, step, 3)
        return "done"

    times = []
    assert drive(timed_steps(job(), times), quiet=True) == "done"
    assert len(times) == 3 and all(t >= 0 for t in times)


def test_run_arms_trains_each_recipe_and_records_its_strength(tmp_path):
    import json
    import math

    from napari_noisyfix.benchmark.testset import TestSet
    from napari_noisyfix.benchmark.training import gap_recovered, run_arms
    from napari_noisyfix.synth.sample import make_sample_project

    project = make_sample_project(tmp_path / "p", n=6, size=64, seed=2)
    test = TestSet(
        {n: project.image(n) for n in project.names[:2]},
        {n: project.mask(n) for n in project.names[:2]},
    )
    overrides = {"epochs": 1, "steps_per_epoch": 1, "batch_size": 2, "image_size": 64}
    overrides.update(device="cpu", encoder="mobilenet_v2")
    arms = ["ce_noisy", "tloss", "mixmatch", "ce_clean"]
    projects = {"noisy": project, "clean": project}
    results = drive(run_arms(projects, overrides, test, arms, tmp_path), quiet=True)
    assert list(results) == arms and json.loads((tmp_path / "arms.json").read_text()) == results
    assert all(0 <= r["test_dice"] <= 1 for r in results.values())
    assert results["tloss"]["tloss_nu"] > 0 and results["ce_noisy"]["tloss_nu"] is None
    assert results["ce_noisy"]["strength"] == "plain training (cross-entropy)"
    terms = results["mixmatch"]["mixmatch"]  # still in the warm-up: nothing unlabelled yet
    assert terms["mixmatch_supervised"] > 0 and terms["mixmatch_lambda_u"] == 0.0
    assert results["ce_noisy"]["mixmatch"] is None
    same = dict(results, ce_clean=results["ce_noisy"])  # no gap: undefined, not a number
    assert math.isnan(gap_recovered(same, "tloss"))
    fake = {
        "ce_noisy": {"test_dice": 0.8},
        "ce_clean": {"test_dice": 0.9},
        "a": {"test_dice": 0.85},
    }
    assert abs(gap_recovered(fake, "a") - 0.5) < 1e-9


def test_the_out_of_fold_arm_tests_the_final_model_with_the_folds_strength(tmp_path):
    from napari_noisyfix.benchmark.testset import TestSet
    from napari_noisyfix.benchmark.training import run_arms
    from napari_noisyfix.synth.sample import make_sample_project

    project = make_sample_project(tmp_path / "p", n=6, size=64, seed=3, noise=0.6)
    test = TestSet({"a": project.image(project.names[0])}, {"a": project.mask(project.names[0])})
    overrides = {"epochs": 2, "steps_per_epoch": 1, "batch_size": 2, "image_size": 64}
    overrides.update(device="cpu", encoder="mobilenet_v2", filter_warmup=1)
    overrides.update(clean_pretrain_epochs=0)
    projects = {"noisy": project, "clean": project}
    results = drive(run_arms(projects, overrides, test, ["adaptive_oof"], tmp_path, 2), quiet=True)
    arm = results["adaptive_oof"]
    assert project.model_versions() == [1]  # trained as `noisyfix train` trains, as a version
    assert f"out-of-fold predictions of {len(project.names)} images" in arm["strength"]
    assert arm["best_epoch"] in (0, 1)  # the final model's, read from its checkpoint
    assert arm["noise"]["source"].startswith("out-of-fold") and 0 <= arm["test_dice"] <= 1
