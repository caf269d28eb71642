"""The shipped sample model: installed on the demo's sample in seconds, scores out-of-fold."""

import numpy as np
import pytest

from napari_noisyfix._atomic import read_json
from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.model.folds import load_folds
from napari_noisyfix.model.predictor import Predictor
from napari_noisyfix.model.sample_model import (
    DEMO_SAMPLE,
    SAMPLE_MODEL,
    install_sample_model,
    read_manifest,
    sample_model_fits,
)
from napari_noisyfix.progress import drive
from napari_noisyfix.synth.sample import make_sample_project


def test_the_package_ships_a_small_sample_model():
    manifest = read_manifest()
    assert manifest["sample"] == DEMO_SAMPLE
    size = sum(p.stat().st_size for p in SAMPLE_MODEL.rglob("*") if p.is_file())
    assert size < 5e6  # a few MB: weights in float16
    held = [n for names in manifest["folds"].values() for n in names]
    assert len(held) == len(set(held)) == DEMO_SAMPLE["n"]
    dice = manifest["dice_vs_truth"]  # measured when it was made, for the README
    assert 0 < dice["oof_prediction"] <= 1 and 0 < dice["noisy_masks"] <= 1


def test_installed_on_the_demo_sample_its_probabilities_are_out_of_fold(tmp_path):
    project = make_sample_project(tmp_path / "demo", **DEMO_SAMPLE)
    assert sample_model_fits(project)
    version = drive(install_sample_model(project), quiet=True)
    assert version == 1 == project.latest_model_version()
    folds = load_folds(project, version)  # verified; they cover every image
    assert len(folds) == 2
    record = read_json(project.scores_dir(version) / "oof.json")
    fold = folds[0]
    name = fold.held_out[0]
    assert record["image_fold"][name] == fold.fold
    stored = project.load_probs(name, version).astype(np.float32)
    own = Predictor(fold.checkpoint.model, fold.checkpoint.config, "cpu").predict(
        project.image(name)
    )
    final = Predictor.load(project.model_dir(version), "cpu").predict(project.image(name))
    assert np.abs(stored - own.probs).max() < 1e-2  # from the fold model that never saw it
    assert np.abs(stored - final.probs).max() > 1e-2  # not from the final model
    rows = project.log.rows("train")
    assert rows[-1]["model_version"] == 1 and rows[-1]["details"]["folds"] == 2


def test_another_sample_gets_no_shipped_model(tmp_path):
    project = make_sample_project(tmp_path / "other", n=6, size=64, seed=1)
    assert not sample_model_fits(project)
    with pytest.raises(NoisyFixError, match="not trained on the images of"):
        drive(install_sample_model(project), quiet=True)
    assert project.latest_model_version() is None
