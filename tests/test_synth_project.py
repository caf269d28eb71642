"""Synthetic pairs in a project are training data only: never scored, queued, in a held-out or
validation fold, reviewed or exported as real."""

import json

import numpy as np
import pytest

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.evaluate import make_folds
from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.oof import train_out_of_fold
from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project
from napari_noisyfix.synth.sample import make_sample_project

CONFIG = TrainConfig.plain(
    encoder="mobilenet_v2",
    epochs=1,
    steps_per_epoch=2,
    batch_size=2,
    image_size=64,
    device="cpu",
    synthetic="add",
)


def _add_pairs(project, per_image=2):
    entries, pairs = [], {}
    rng = np.random.default_rng(0)
    for src in project.names:
        for j in range(per_image):
            name = f"{src}.syn{j:03d}"
            mask = np.zeros((64, 64), np.uint8)
            mask[10 + j : 30, 12:40] = 1
            image = (mask * 0.7 + rng.random((64, 64)) * 0.3).astype(np.float32)
            pairs[name] = (image, mask)
            entries.append({"name": name, "source": src, "generator_version": 1, "style": "fda"})
    project.set_synthetic(entries, pairs)
    return sorted(pairs)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    proj = make_sample_project(tmp_path_factory.mktemp("p") / "proj", n=6, size=64, seed=1)
    _add_pairs(proj)
    return proj


def test_names_stay_real_and_synthetic_pairs_read_like_images(project):
    real = project.names
    syn = project.synthetic_names()
    assert len(real) == 6 and len(syn) == 12 and not set(real) & set(syn)
    name = syn[0]
    entry = project.entry(name)
    assert entry["synthetic"] and entry["source"] in real and entry["generator_version"] == 1
    assert project.patient(name) == project.patient(entry["source"])
    assert project.image(name).shape == (64, 64) and set(np.unique(project.mask(name))) == {0, 1}
    assert project.synthetic_names(sources=[real[0]]) == [f"{real[0]}.syn000", f"{real[0]}.syn001"]
    config = json.loads((project.root / "project.json").read_text())
    assert {e["name"] for e in config["images"]} == set(real)
    assert {e["name"] for e in config["synthetic"]} == set(syn)


def test_reopened_project_keeps_them_and_refuses_review_writes(project):
    again = Project.open(project.root, mode="read")
    assert again.synthetic_names() == project.synthetic_names()
    name = project.synthetic_names()[0]
    with pytest.raises(NoisyFixError, match="is a synthetic pair; cannot save a corrected mask"):
        project.save_mask(name, project.mask(name))
    with pytest.raises(NoisyFixError, match="is a synthetic pair; cannot mark reviewed"):
        project.mark_reviewed(name, np.ones((64, 64), bool))


def test_bad_synthetic_entries_are_refused(project):
    real = project.names[0]
    image, mask = project.image(real), project.mask(real)
    with pytest.raises(NoisyFixError, match="is a real image's"):
        project.set_synthetic(
            [{"name": real, "source": real, "generator_version": 1}], {real: (image, mask)}
        )
    with pytest.raises(NoisyFixError, match="3 channels, project has 1"):
        project.set_synthetic(
            [{"name": "x.syn", "source": real, "generator_version": 1}],
            {"x.syn": (np.stack([image] * 3, -1), mask)},
        )


def test_folds_hold_real_images_only(project):
    folds = make_folds(project, 2)
    assert sorted(n for f in folds for n in f) == project.names


def test_training_adds_only_the_pairs_of_its_training_images(project):
    version = drive(train_out_of_fold(project, CONFIG, 2), quiet=True)
    record = json.loads((project.scores_dir(version) / "oof.json").read_text())
    syn = set(project.synthetic_names())
    assert set(record["image_fold"]) == set(project.names)
    for fold in record["folds"]:
        trained = set(fold["trained_on"])
        assert not syn & (set(fold["held_out"]) | set(fold["validated_on"]))
        expected = set(project.synthetic_names(sources=trained - syn))
        assert trained & syn == expected and expected
    for name in syn:
        assert project.load_probs(name, version) is None


def test_scoring_queue_and_export_see_real_images_only(project, tmp_path):
    from napari_noisyfix.io.export import export_project
    from napari_noisyfix.quality.score import score_project
    from napari_noisyfix.review.session import ReviewSession

    if project.latest_model_version() is None:
        drive(train_out_of_fold(project, CONFIG, 2), quiet=True)
    drive(score_project(project), quiet=True)
    session = ReviewSession(project, "tester")
    assert {r.image for r in session.regions} <= set(project.names)
    assert {r.image for r in session.queue} <= set(project.names)
    out = drive(export_project(project, tmp_path / "out", fmt="npy"), quiet=True)
    written = " ".join(str(p) for p in out.rglob("*"))
    assert ".syn" not in written
    assert all(n in written for n in project.names)
