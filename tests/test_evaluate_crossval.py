"""Cross-validation of napari_noisyfix.evaluate: folds by patient, aggregation, the CLI command."""

import argparse

import numpy as np
import pytest

from napari_noisyfix import evaluate as ev
from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.progress import Progress, drive
from napari_noisyfix.project import Project


def _project(tmp_path, n_patients=4, per_patient=3, truth=True):
    rng = np.random.default_rng(0)
    images, masks, truths, patients = {}, {}, {}, {}
    for p in range(n_patients):
        for i in range(per_patient):
            name = f"p{p}_i{i}"
            t = np.zeros((32, 32), np.uint8)
            r, c = rng.integers(4, 20, size=2)
            t[r : r + 8, c : c + 8] = 1
            images[name] = (t * 100 + rng.integers(0, 50, (32, 32))).astype(np.uint8)
            truths[name] = t
            masks[name] = np.roll(t, 2, axis=1)  # a shifted (noisy) mask
            patients[name] = f"patient{p}"
    return Project.create(
        tmp_path / "proj", images, masks, patients=patients, truth=truths if truth else None
    )


def _oracle(calls):
    """A fake fold trainer: remembers what it trained on, predicts the true masks."""

    def trainer(project, config, train_names, val_names):
        calls.append((list(train_names), list(val_names)))
        yield Progress("train", 1, 1)
        return {n: project.truth(n) for n in val_names}, {"epochs": [{"train_loss": 1.0}]}

    return trainer


def test_patient_folds_never_share_a_patient(tmp_path):
    project = _project(tmp_path)
    calls = []
    result = drive(ev.cross_validate(project, 3, trainer=_oracle(calls)), quiet=True)
    assert len(calls) == 3
    seen = []
    for train, val in calls:
        train_patients = {project.patient(n) for n in train}
        val_patients = {project.patient(n) for n in val}
        assert not train_patients & val_patients
        assert set(train) | set(val) == set(project.names)
        seen += val
    assert sorted(seen) == project.names  # every image held out exactly once
    assert result["split"] == "patient" and result["against"] == "truth" and result["k"] == 3
    assert result["summary"]["dice"] == {"mean": 1.0, "sd": 0.0, "n": 3}
    assert len(result["per_image"]) == len(project.names)
    assert "fold" not in result["summary"] and "fold" not in result["folds"][0]["summary"]


def test_against_masks_scores_the_working_masks(tmp_path):
    project = _project(tmp_path)
    result = drive(ev.cross_validate(project, 2, against="masks", trainer=_oracle([])), quiet=True)
    # predictions are the truth, the working masks are shifted by 2 of 8 columns: Dice 6/8
    assert result["against"] == "masks"
    assert result["summary"]["dice"]["mean"] == pytest.approx(0.75)
    assert result["summary"]["iou"]["mean"] == pytest.approx(6 / 10)


def test_auto_uses_masks_without_truth_and_truth_is_refused(tmp_path):
    project = _project(tmp_path, truth=False)
    assert ev.resolve_against(project, "auto") == "masks"
    with pytest.raises(NoisyFixError, match="true mask"):
        ev.resolve_against(project, "truth")


def test_image_split_puts_images_not_patients_in_folds(tmp_path):
    project = _project(tmp_path, n_patients=2, per_patient=3)
    with pytest.raises(NoisyFixError, match="only 2 patients; use at most 2 folds"):
        ev.make_folds(project, 3, "patient")
    folds = ev.make_folds(project, 3, "image")
    assert sorted(n for f in folds for n in f) == project.names
    assert [len(f) for f in folds] == [2, 2, 2]


def test_a_one_patient_project_is_split_by_slices_as_train_splits_it(tmp_path):
    from napari_noisyfix.splits import SliceSplitWarning, patient_folds

    project = _project(tmp_path, n_patients=1, per_patient=6)
    with pytest.warns(SliceSplitWarning, match="neighbouring slices"):
        folds = ev.make_folds(project, 3, "patient", seed=0)
    with pytest.warns(SliceSplitWarning):
        train_folds = patient_folds(project.names, project.patients(), 3, seed=0)
    assert folds == [sorted(f) for f in train_folds]
    order = sorted(project.names)
    for fold in folds:  # runs of consecutive slices
        positions = [order.index(n) for n in fold]
        assert len(fold) == 2 and positions == list(range(positions[0], positions[0] + 2))
    with pytest.raises(NoisyFixError, match="only 6 images, all of one patient; use at most 6"):
        ev.make_folds(project, 7, "patient")


def test_closing_cross_validation_closes_the_fold_trainer(tmp_path):
    project = _project(tmp_path)
    closed = []

    def slow(project, config, train_names, val_names):
        try:
            for step in range(10):
                yield Progress("train", step, 10)
        finally:
            closed.append(True)
        return {}, {}

    job = ev.cross_validate(project, 2, trainer=slow)
    next(job), next(job)
    job.close()
    assert closed == [True]


def test_missing_prediction_is_an_error(tmp_path):
    project = _project(tmp_path)

    def lazy(project, config, train_names, val_names):
        yield Progress("train", 1, 1)
        return {}, {}

    with pytest.raises(NoisyFixError, match="no prediction"):
        drive(ev.cross_validate(project, 2, trainer=lazy), quiet=True)


def _args(project, **kw):
    """The command's arguments; the test's own handle is closed, since the command opens the
    project for writing itself (one writer at a time)."""
    project.close()
    base = {
        "project": str(project.root),
        "folds": 2,
        "against": "auto",
        "compare_image_split": False,
        "report_only": False,
        "epochs": 1,
        "steps_per_epoch": 1,
        "batch_size": 2,
        "image_size": 0,
        "device": "cpu",
        "strategy": "plain",
    }
    return argparse.Namespace(**{**base, **kw})


def test_command_compares_image_split_and_redraws_report(tmp_path, capsys, monkeypatch):
    project = _project(tmp_path)
    monkeypatch.setattr(ev, "train_fold", _oracle([]))
    assert ev.evaluate_command(_args(project, compare_image_split=True)) == 0
    out = capsys.readouterr().out
    assert "patient-level 2-fold cross-validation against truth: dice 1.000 ± 0.000" in out
    assert "image-level 2-fold cross-validation against truth: dice 1.000 ± 0.000" in out
    # --report-only redraws the saved cross-validation without training
    monkeypatch.setattr(ev, "train_fold", None)
    assert ev.evaluate_command(_args(project, report_only=True)) == 0
    assert "patient-level 2-fold" in capsys.readouterr().out
    assert len(list((project.root / "reports").glob("*/cv.json"))) == 2


def test_real_training_folds_write_curves_and_no_model_version(tmp_path, capsys):
    import torch

    torch.set_num_threads(1)
    project = _project(tmp_path, n_patients=2, per_patient=2)
    assert ev.evaluate_command(_args(project)) == 0
    assert "patient-level 2-fold cross-validation against truth: dice" in capsys.readouterr().out
    assert project.model_versions() == []  # fold models are not project versions
    (report,) = (project.root / "reports").glob("*/index.html")
    html = report.read_text()
    assert "mean ± sd over folds" in html
    for png in ("metric_distributions.png", "training_curves.png", "labels_vs_truth.png"):
        assert (report.parent / png).stat().st_size > 1000, png
