"""Out-of-fold training: probabilities for every image from a model that never saw it."""

import json

import numpy as np
import pytest

from napari_noisyfix.model.checkpoints import load_checkpoint
from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.oof import train_out_of_fold
from napari_noisyfix.progress import drive
from napari_noisyfix.synth.sample import make_sample_project

CONFIG = TrainConfig.plain(
    encoder="mobilenet_v2", epochs=1, steps_per_epoch=2, batch_size=2, image_size=64, device="cpu"
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    project = make_sample_project(tmp_path_factory.mktemp("p") / "proj", n=9, size=64, seed=2)
    stages = []
    job = train_out_of_fold(project, CONFIG, 3)
    try:
        while True:
            stages.append(next(job).stage)
    except StopIteration as stop:
        version = stop.value
    return project, version, stages


def test_every_image_has_probabilities(trained):
    project, version, _ = trained
    assert version == 1 and project.model_versions() == [1]
    for name in project.names:
        probs = project.load_probs(name, version)
        assert probs.shape == (2, 64, 64)
        assert np.allclose(probs.sum(0), 1, atol=2e-3)


def test_no_image_is_scored_by_a_model_that_trained_on_it(trained):
    project, version, _ = trained
    record = json.loads((project.scores_dir(version) / "oof.json").read_text())
    assert set(record["image_fold"]) == set(project.names)
    for fold in record["folds"]:
        seen = set(fold["trained_on"]) | set(fold["validated_on"])
        assert not seen & set(fold["held_out"])
        assert seen | set(fold["held_out"]) == set(project.names)
        for name in fold["held_out"]:
            assert record["image_fold"][name] == fold["fold"]
        held_patients = {project.patient(n) for n in fold["held_out"]}
        assert not held_patients & {project.patient(n) for n in seen}


def test_final_model_trained_on_all_images_and_logged(trained):
    project, version, stages = trained
    ckpt = load_checkpoint(project.model_dir(version))
    assert ckpt.config == CONFIG and ckpt.meta["folds"] == 3
    assert sorted(ckpt.meta["train_names"] + ckpt.meta["val_names"]) == project.names
    assert len(ckpt.history) == 1
    row = project.log.rows("train")[-1]
    assert row["model_version"] == version and row["details"]["folds"] == 3
    assert stages[0] == "fold 1/3" and stages[-1] == "final model"


def test_cancelled_run_creates_no_version(trained):
    project, version, _ = trained
    job = train_out_of_fold(project, CONFIG, 3)
    for _ in range(4):
        next(job)
    job.close()
    assert project.model_versions() == [version]
    next_version = drive(train_out_of_fold(project, CONFIG, 3), quiet=True)
    assert next_version == version + 1


def test_an_adaptive_final_model_takes_its_strength_from_the_folds_at_fixed_strength(tmp_path):
    from napari_noisyfix.model.oof import strength_note

    project = make_sample_project(tmp_path / "proj", n=6, size=64, seed=3, noise=0.6)
    tiny = {k: getattr(CONFIG, k) for k in ("encoder", "batch_size", "image_size", "device")}
    config = TrainConfig.adaptive(**tiny, epochs=2, steps_per_epoch=1, filter_warmup=1)
    config.clean_pretrain_epochs = 0
    version = drive(train_out_of_fold(project, config, 2), quiet=True)
    note = strength_note(project, version)
    assert f"out-of-fold predictions of {len(project.names)} images" in note
    folds = json.loads((project.scores_dir(version) / "oof.json").read_text())["folds"]
    # the folds, which judge the labels, train the recipe at its fixed strength
    assert all(f["robust_strength"].startswith("fixed recipe 'robust'") for f in folds)
