"""MixMatch: sharpening, exact label guessing, the ramp, the labelled/unlabelled split, training."""

import math

import numpy as np
import pytest
import torch

from napari_noisyfix.model.augment import draw_moves, move_each
from napari_noisyfix.model.config import RECIPES, TrainConfig
from napari_noisyfix.model.data import Sample
from napari_noisyfix.model.mixmatch import (
    MIXMATCH,
    guess_labels,
    mixmatch_batch,
    ramp,
    sharpen,
    unlabelled_loss,
)
from napari_noisyfix.model.steps import StepContext
from napari_noisyfix.model.trainer import train
from napari_noisyfix.progress import drive
from napari_noisyfix.synth.sample import make_sample_project

EVERY_MOVE = [(k, flip) for k in range(4) for flip in (False, True)]


def test_sharpen_sums_to_one_raises_the_max_and_keeps_the_class():
    probs = torch.softmax(torch.randn(3, 4, 5, 5), dim=1)
    out = sharpen(probs, 0.5)
    assert torch.allclose(out.sum(1), torch.ones(3, 5, 5))
    assert (out.amax(1) > probs.amax(1)).all()
    assert torch.equal(out.argmax(1), probs.argmax(1))
    assert torch.allclose(sharpen(probs, 1.0), probs, atol=1e-6)
    two = torch.tensor([0.6, 0.4]).view(1, 2, 1, 1)  # 0.36 / (0.36 + 0.16) at T = 0.5
    assert sharpen(two, 0.5)[0, :, 0, 0].tolist() == pytest.approx([0.36 / 0.52, 0.16 / 0.52])


def test_guessing_inverts_every_flip_and_quarter_turn_exactly():
    probs = torch.softmax(torch.randn(8, 2, 6, 6), dim=1)
    moves = [EVERY_MOVE, EVERY_MOVE[::-1]]  # crop i seen through two different moves
    views = [move_each(probs, m) for m in moves]
    assert not torch.equal(views[0], probs)
    assert torch.equal(guess_labels(views, moves), probs)


def test_guessing_averages_the_views():
    a, b = torch.zeros(1, 2, 4, 4), torch.ones(1, 2, 4, 4)
    moves = [[(1, True)], [(3, False)]]
    views = [move_each(a, moves[0]), move_each(b, moves[1])]
    assert torch.equal(guess_labels(views, moves), torch.full((1, 2, 4, 4), 0.5))


def test_non_square_crops_are_never_turned():
    rng = np.random.default_rng(0)
    moves = draw_moves(rng, 50, True, True, square=False)
    assert {k for k, _ in moves} <= {0, 2} and len(set(moves)) > 1


def test_ramp_is_linear_from_zero_to_one():
    values = [ramp(done, 100, 0.25) for done in range(30)]
    assert values[0] == 0.0 and values[25] == 1.0 and values[-1] == 1.0
    assert values[10] == pytest.approx(10 / 25)
    assert all(a <= b for a, b in zip(values, values[1:], strict=False))
    assert ramp(0, 100, 0.0) == 1.0


def test_unlabelled_loss_is_averaged_over_every_counted_pixel():
    probs = torch.tensor([[0.9, 0.5, 0.2, 0.3], [0.1, 0.5, 0.8, 0.7]])[None, :, None, :]
    targets = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 1.0]])[None, :, None, :]
    unlabelled = torch.tensor([[[1.0, 1.0, 0.0, 0.0]]])
    counted = torch.ones(1, 1, 4)
    # pixels 0 and 1 only: (0.01 + 0.01) and (0.25 + 0.25), over 2 classes x 4 pixels
    expected = (0.02 + 0.5) / (2 * 4)
    assert float(unlabelled_loss(probs, targets, unlabelled, counted)) == pytest.approx(expected)
    assert float(unlabelled_loss(probs, targets, 0 * unlabelled, counted)) == 0.0


def test_defaults_are_the_papers_and_the_recipe_is_the_robust_one():
    assert (MIXMATCH.k, MIXMATCH.t, MIXMATCH.alpha, MIXMATCH.lambda_u) == (2, 0.5, 0.75, 100.0)
    assert RECIPES["mixmatch"] == RECIPES["robust"]
    with pytest.raises(AttributeError):
        MIXMATCH.k = 3  # frozen


def sure_background_context():
    """A 1x1 convolution that says background with p ~ 1 everywhere, whatever the view."""
    cfg = TrainConfig(strategy="mixmatch", image_size=64, device="cpu", filter_threshold=0.8)
    model = torch.nn.Conv2d(1, 2, 1)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.copy_(torch.tensor([10.0, -10.0]))
    return StepContext.create(model, cfg, torch.device("cpu"), 2)


def square_sample(name, trusted: bool):
    mask = torch.zeros(64, 64, dtype=torch.long)
    mask[20:40, 20:40] = 1  # 400 foreground pixels the model contradicts
    flags = torch.full((64, 64), trusted, dtype=torch.bool)
    return Sample(name, torch.randn(1, 64, 64), mask, torch.ones(64, 64), flags)


def test_contradicted_untrusted_pixels_become_unlabelled_with_the_guess():
    ctx = sure_background_context()
    batch = ([0, 1], [square_sample("noisy", False), square_sample("trusted", True)], (64, 64))
    images, targets, labelled, unlabelled, share = mixmatch_batch(
        ctx, batch, np.random.default_rng(0), strategies_on=True
    )
    k = MIXMATCH.k
    assert images.shape == (2 * k, 1, 64, 64) and targets.shape == (2 * k, 2, 64, 64)
    assert torch.allclose(targets.sum(1), torch.ones(2 * k, 64, 64))
    assert share == pytest.approx(400 / (2 * 64 * 64))  # the noisy crop's square only
    assert float(unlabelled.sum()) == k * 400
    assert torch.equal(labelled, 1 - unlabelled)  # every pixel is one or the other
    _, _, _, none, zero = mixmatch_batch(ctx, batch, np.random.default_rng(0), strategies_on=False)
    assert float(none.sum()) == 0 and zero == 0.0


def test_thin_structures_are_never_left_unlabelled():
    """The default recipe's guard for membranes and vessels: a 3-px membrane the model
    contradicts keeps its given label, while a wide object it contradicts is left unlabelled."""
    ctx = sure_background_context()

    def unlabelled_count(membrane: bool, blob: bool) -> float:
        mask = torch.zeros(64, 64, dtype=torch.long)
        if membrane:
            mask[8:56, 40:43] = 1
        if blob:
            mask[16:32, 10:26] = 1
        flags = torch.zeros(64, 64, dtype=torch.bool)
        sample = Sample("s", torch.randn(1, 64, 64), mask, torch.ones(64, 64), flags)
        out = mixmatch_batch(ctx, ([0], [sample], (64, 64)), np.random.default_rng(0), True)
        return float(out[3].sum())

    assert unlabelled_count(membrane=True, blob=False) == 0
    blob_only = unlabelled_count(membrane=False, blob=True)
    assert blob_only > 0 and unlabelled_count(membrane=True, blob=True) == blob_only


def test_unlabelled_targets_are_the_sharpened_guess():
    ctx = sure_background_context()
    batch = ([0, 0], [square_sample("noisy", False)], (64, 64))
    _, targets, _, unlabelled, _ = mixmatch_batch(
        ctx, batch, np.random.default_rng(1), strategies_on=True
    )
    # both crops are the same image, so every mixed pixel of the square mixes two guesses:
    # background, sharpened from p ~ 1 - 2e-9 to ~1
    inside = unlabelled.bool()
    assert float(targets[:, 0][inside].min()) > 0.999


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_sample_project(tmp_path_factory.mktemp("p") / "proj", n=9, size=64, seed=1)


def tiny(**kw):
    base = {"epochs": 2, "steps_per_epoch": 2, "batch_size": 2, "image_size": 64, "device": "cpu"}
    base.update(encoder="mobilenet_v2", clean_pretrain_epochs=0, filter_threshold=0.5)
    return TrainConfig(**{"strategy": "mixmatch", **base, **kw})


def test_mixmatch_trains_and_logs_its_terms_with_the_ramp(project):
    reports = list(train(project, tiny(filter_warmup=1), val_names=[]))
    steps = [p.metrics for p in reports if "loss" in p.metrics]  # one per step
    ramped = [s["mixmatch_lambda_u"] for s in steps]
    # warm-up epoch: nothing unlabelled, no weight; then 0, then full after ceil(0.25 * 4) = 1
    assert ramped == [0.0, 0.0, 0.0, MIXMATCH.lambda_u]
    assert [s["filtered"] == 0 for s in steps] == [True, True, False, False]
    for s in steps:  # the logged loss is exactly its two terms
        total = s["mixmatch_supervised"] + s["mixmatch_lambda_u"] * s["mixmatch_unlabelled"]
        assert s["loss"] == pytest.approx(total, rel=1e-5)
    result = drive(train(project, tiny(filter_warmup=1), val_names=[]), quiet=True)
    for h in result.history:
        for key in ("mixmatch_supervised", "mixmatch_unlabelled", "mixmatch_lambda_u"):
            assert math.isfinite(h[key]) and h[key] >= 0
    assert [h["mixmatch_lambda_u"] for h in result.history] == [0.0, MIXMATCH.lambda_u / 2]
    assert result.config.strategy == "mixmatch"


def test_other_strategies_log_no_mixmatch_terms(project):
    result = drive(train(project, tiny(strategy="robust"), val_names=[]), quiet=True)
    assert all(not any(k.startswith("mixmatch") for k in h) for h in result.history)
    assert {"train_loss", "train_dice", "filtered"} <= set(result.history[0])
