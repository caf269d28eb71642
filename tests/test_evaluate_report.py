"""The evaluation report (napari_noisyfix.report): files, plots and what they are drawn from."""

import json

import numpy as np

from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project
from napari_noisyfix.report import latest_cv, latest_report, write_report
from napari_noisyfix.report.data import history_series, review_events


def _scored_project(tmp_path):
    """A project with stored probabilities for model v1, scored, and two review actions."""
    from napari_noisyfix.quality.score import score_project
    from napari_noisyfix.review.session import ReviewSession

    rng = np.random.default_rng(1)
    images, masks, truths = {}, {}, {}
    for i in range(4):
        t = np.zeros((48, 48), np.uint8)
        t[10:22, 8 + 4 * i : 20 + 4 * i] = 1
        t[30:40, 30:40] = 1
        images[f"im{i}"] = (t * 120 + rng.integers(0, 40, t.shape)).astype(np.uint8)
        truths[f"im{i}"] = t
        masks[f"im{i}"] = t.copy()
        if i % 2:
            masks[f"im{i}"][30:40, 30:40] = 0  # a dropped object
    project = Project.create(tmp_path / "p", images, masks, truth=truths)
    version, _ = project.new_model_dir()
    for name, t in truths.items():
        p1 = np.where(t > 0, 0.95, 0.05).astype(np.float32)
        project.save_probs(version, name, np.stack([1 - p1, p1]))
    drive(score_project(project, version), quiet=True)
    session = ReviewSession(project, "tester", version=version)
    assert session.current is not None
    session.accept()
    session.reject()
    return project


def test_report_holds_quality_review_and_correction_plots(tmp_path):
    project = _scored_project(tmp_path)
    assert latest_report(project) is None
    index = write_report(project)
    assert latest_report(project) == index
    assert index.name == "index.html" and index.parent.parent == project.root / "reports"
    html = index.read_text()
    for png in (
        "label_quality.png",
        "review_progress.png",
        "corrections.png",
        "labels_vs_truth.png",
    ):
        assert (index.parent / png).stat().st_size > 1000, png
        assert f'src="{png}"' in html
    assert "No cross-validation in this report" in html
    assert "Not calibrated" in html  # four images are too few for the calibration
    assert "No training history yet" in html
    assert not (index.parent / "cv.json").exists()
    assert latest_cv(project) == {}
    assert not list((project.root / "reports").glob(".*"))  # no temporary folder left


def test_review_events_come_from_the_audit_log(tmp_path):
    project = _scored_project(tmp_path)
    events = review_events(project)
    assert [e["action"] for e in events] == ["accept", "reject"]
    assert events[0]["minutes"] == 0.0 and events[1]["minutes"] >= 0.0
    assert events[0]["pixels"] > 0 and events[1]["pixels"] == 0


def test_report_keeps_cross_validation_for_report_only(tmp_path):
    project = _scored_project(tmp_path)
    rows = [{"image": n, "fold": 0, "dice": 0.5, "iou": 0.4} for n in project.names]
    summary = {
        m: {"mean": 0.5, "sd": 0.1, "n": 2}
        for m in ("dice", "iou", "f1", "precision", "recall", "accuracy")
    }
    fold = {
        "fold": 0,
        "train": [],
        "val": project.names,
        "summary": summary,
        "history": {
            "epochs": [
                {"epoch": 0, "train_loss": 1.0, "val_loss": 1.2, "val_dice": 0.4},
                {"epoch": 1, "train_loss": 0.5, "val_loss": 1.0, "val_dice": 0.5},
            ]
        },
    }
    cv = {
        "patient": {
            "split": "patient",
            "against": "truth",
            "k": 1,
            "folds": [fold],
            "per_image": rows,
            "summary": summary,
        }
    }
    index = write_report(project, cv)
    assert json.loads((index.parent / "cv.json").read_text()) == cv
    assert latest_cv(project) == cv
    assert (index.parent / "training_curves.png").stat().st_size > 1000
    assert "0.500 ± 0.100" in index.read_text()
    second = write_report(project, latest_cv(project))
    assert second.parent != index.parent  # same second: a new folder, nothing overwritten


def test_history_series_accepts_trainer_and_checkpoint_forms():
    rows = [
        {"epoch": 0, "phase": "noisy", "train_loss": 1.0, "val_dice": None},
        {"epoch": 1, "phase": "noisy", "train_loss": 0.5, "val_dice": None},
    ]
    assert history_series(rows) == {"epoch": [0.0, 1.0], "train_loss": [1.0, 0.5]}
    assert history_series({"epochs": rows})["train_loss"] == [1.0, 0.5]
    assert history_series({"train_loss": [2, 1], "note": "x"}) == {"train_loss": [2.0, 1.0]}
    assert history_series("junk") == {}
