"""An update stays out-of-fold: the errors not yet reviewed still stand out after a retrain."""

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.model.checkpoints import load_checkpoint
from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.folds import fold_root, load_folds
from napari_noisyfix.model.oof import train_out_of_fold
from napari_noisyfix.model.predictor import Predictor
from napari_noisyfix.model.update import FOLD_LR_SHARE, held_out_view, update, update_maps
from napari_noisyfix.progress import drive
from napari_noisyfix.synth.sample import make_sample_project

CONFIG = TrainConfig.plain(
    encoder="mobilenet_v2",
    epochs=6,
    steps_per_epoch=5,
    batch_size=4,
    image_size=64,
    val_fraction=0.0,
    device="cpu",
)
UPDATE_STEPS = 20


def _review_one_error(project) -> str:
    """Fix the largest wrong component of one corrupted image, as an accept would."""
    from scipy import ndimage

    for name in project.names:
        wrong = project.mask(name) != project.truth(name)
        if project.is_clean(name) or not wrong.any():
            continue
        labels, n = ndimage.label(wrong)
        biggest = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
        mask = project.mask(name).copy()
        mask[biggest] = project.truth(name)[biggest]
        project.save_mask(name, mask)
        project.mark_reviewed(name, biggest)
        return name
    raise AssertionError("the sample has no corrupted image")


def _remaining_auroc(project, probs_of) -> float:
    """AUROC of 1 - p(given label) for the pixels still wrong and unreviewed, over every
    unreviewed pixel of the non-clean images."""
    scores, wrong = [], []
    for name in project.names:
        if project.is_clean(name):
            continue
        given = project.mask(name)
        p = probs_of(name)
        keep = ~project.reviewed(name)
        p_given = np.take_along_axis(p, given[None].astype(np.int64), 0)[0]
        scores.append((1 - p_given)[keep])
        wrong.append((given != project.truth(name))[keep])
    return roc_auc_score(np.concatenate(wrong), np.concatenate(scores))


@pytest.fixture(scope="module")
def updated(tmp_path_factory):
    project = make_sample_project(tmp_path_factory.mktemp("u") / "p", n=8, size=64, seed=4)
    first = drive(train_out_of_fold(project, CONFIG, 2), quiet=True)
    before = _remaining_auroc(project, lambda n: project.load_probs(n, first).astype(np.float32))
    reviewed = _review_one_error(project)
    second = drive(update(project, steps=UPDATE_STEPS), quiet=True)
    return project, first, second, before, reviewed


def test_a_training_keeps_one_model_per_fold(updated):
    project, first, second, *_ = updated
    folds = load_folds(project, second)
    assert [f.fold for f in folds] == [0, 1]
    assert sorted(n for f in folds for n in f.held_out) == project.names
    assert not fold_root(project.model_dir(first)).exists()  # only the newest keeps them


def test_after_an_update_the_remaining_errors_still_rank_above_correct_pixels(updated):
    project, _, second, before, reviewed = updated
    after = _remaining_auroc(project, lambda n: project.load_probs(n, second).astype(np.float32))
    assert after >= 0.85 and after >= before - 0.03
    # each image's stored probabilities are those of the fold model that held it out, not the
    # final model's (which learnt every unreviewed label)
    fold_of = {n: f for f in load_folds(project, second) for n in f.held_out}
    final = load_checkpoint(project.model_dir(second))
    final_predictor = Predictor(final.model, final.config, "cpu")
    name = next(n for n in project.names if n != reviewed and not project.is_clean(n))
    ckpt = fold_of[name].checkpoint
    fold = Predictor(ckpt.model, ckpt.config, "cpu").predict(project.image(name)).probs
    stored = project.load_probs(name, second).astype(np.float32)
    assert np.abs(stored - fold).max() < 2e-3
    assert np.abs(stored - final_predictor.predict(project.image(name)).probs).max() > 0.01


def test_fold_models_learn_only_the_reviewed_pixels_of_their_held_out_images(updated):
    project, _, second, _, reviewed = updated
    weights, trusted = update_maps(project, project.names)
    held = [n for n in project.names if not project.is_clean(n)]
    view, usable = held_out_view(weights, trusted, held)
    assert usable == [reviewed]
    for name in held:
        assert (view[name][~trusted[name]] == 0).all()
        assert np.array_equal(view[name][trusted[name]], weights[name][trusted[name]])
    record = json.loads((project.scores_dir(second) / "oof.json").read_text())
    for fold in record["folds"]:
        unreviewed = [n for n in fold["held_out"] if n != reviewed and not project.is_clean(n)]
        assert not set(unreviewed) & set(fold["trained_on"])
    ckpt = load_checkpoint(project.model_dir(second))
    assert ckpt.meta["out_of_fold"] is True and ckpt.meta["parent_version"] == 1


def test_an_update_without_new_corrections_is_refused(updated):
    project, _, second, *_ = updated
    with pytest.raises(NoisyFixError, match=f"no corrections since model version {second}"):
        drive(update(project, steps=1), quiet=True)
    assert project.latest_model_version() == second


def test_fold_models_update_at_their_share_of_the_rate(updated):
    project, _, second, *_ = updated
    final = load_checkpoint(project.model_dir(second))
    assert final.meta["fold_lr_share"] == FOLD_LR_SHARE
    for fold in load_folds(project, second):
        assert fold.checkpoint.config.lr == pytest.approx(final.config.lr * FOLD_LR_SHARE)
    with pytest.raises(NoisyFixError, match="fold learning-rate share 0"):
        drive(update(project, steps=1, fold_lr_share=0.0), quiet=True)
    assert project.latest_model_version() == second


def test_the_guard_records_every_model_and_its_judges_are_never_trained_on(updated):
    project, _, second, *_ = updated
    guard = load_checkpoint(project.model_dir(second)).meta["guard"]
    assert guard["on"] and guard["kept_parent"] == []
    assert [m["model"] for m in guard["models"]] == ["fold 1/2", "fold 2/2", "final model"]
    assert all(m["kept"] == "update" for m in guard["models"])
    record = json.loads((project.scores_dir(second) / "oof.json").read_text())
    for fold in record["folds"]:  # a fold model never trains on what judges it
        assert fold["held_back"] == [n for n in fold["held_out"] if n in guard["held_back"]]
        assert not set(fold["held_back"]) & set(fold["trained_on"])
