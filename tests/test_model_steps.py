"""One training step: batch preparation, strategy application, batch Dice, optimiser update."""

import numpy as np
import pytest
import torch

from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.data import Sample
from napari_noisyfix.model.losses import prepare_target
from napari_noisyfix.model.networks import build_model
from napari_noisyfix.model.steps import (
    StepContext,
    apply_strategies,
    batch_dice,
    prepare_batch,
    train_step,
)


def context(**kw):
    cfg = TrainConfig.plain(encoder="mobilenet_v2", image_size=64, device="cpu", **kw)
    torch.manual_seed(0)
    return StepContext.create(build_model(cfg, 1, 2), cfg, torch.device("cpu"), 2)


def samples():
    mask = torch.zeros(64, 64, dtype=torch.long)
    mask[20:40, 20:40] = 1
    s = Sample(
        "s", torch.randn(1, 64, 64), mask, torch.ones(64, 64), torch.zeros(64, 64, dtype=torch.bool)
    )
    return [s]


def test_prepare_batch_gives_soft_targets_and_weights():
    ctx = context(mixup_alpha=0.4, mixup_prob=1.0)
    images, soft, weights, trusted = prepare_batch(
        ctx, ([0, 0], samples(), (64, 64)), np.random.default_rng(0)
    )
    assert images.shape == (2, 1, 64, 64) and soft.shape == (2, 2, 64, 64)
    assert torch.allclose(soft.sum(1), torch.ones(2, 64, 64))
    assert weights.shape == trusted.shape == (2, 64, 64)


def test_apply_strategies_reports_the_filtered_share():
    ctx = context(filter_threshold=0.8, pseudo_threshold=0.9, pseudo_weight=1.0)
    soft, weight = prepare_target(torch.tensor([[[1, 0]]]), None, 2)
    probs = torch.tensor([[0.95, 0.95], [0.05, 0.05]])[None, :, None, :]
    new_soft, new_w, share = apply_strategies(
        ctx, probs, soft, weight, torch.zeros(1, 1, 2, dtype=torch.bool)
    )
    assert share == 0.5 and new_w[0, 0].tolist() == pytest.approx([0.1, 1.0])
    assert new_soft[0, :, 0, 0].tolist() == [1.0, 0.0]  # pseudo-label: model's class


def test_batch_dice_value():
    probs = torch.tensor([[0.2, 0.2, 0.9], [0.8, 0.8, 0.1]])[None, :, None, :]
    soft, weight = prepare_target(torch.tensor([[[1, 0, 0]]]), None, 2)
    assert batch_dice(probs, soft, weight) == pytest.approx(2 / 3)


def test_train_step_updates_weights_and_reports():
    ctx = context()
    before = {k: v.clone() for k, v in ctx.model.state_dict().items()}
    stats = train_step(
        ctx, ([0, 0], samples(), (64, 64)), np.random.default_rng(0), strategies_on=False
    )
    assert stats["loss"] > 0 and 0 <= stats["dice"] <= 1 and stats["filtered"] == 0
    assert any(not torch.equal(before[k], v) for k, v in ctx.model.state_dict().items())


def _rates(ctx, n):
    rates = []
    for _ in range(n):
        rates.append(ctx.optimizer.param_groups[0]["lr"])
        ctx.optimizer.step()
        ctx.scheduler.step()
    return rates


def test_warm_up_ramps_the_rate_then_decays_it():
    ctx = context(lr=1e-3, epochs=1, steps_per_epoch=10, warmup_steps=4)
    rates = _rates(ctx, 10)
    assert rates[0] == pytest.approx(1e-3 / 5)
    assert all(a < b for a, b in zip(rates[:4], rates[1:5], strict=True))
    assert rates[4] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(rates[4:], rates[5:], strict=False))


def test_no_warm_up_starts_at_the_full_rate():
    rates = _rates(context(lr=1e-3, epochs=1, steps_per_epoch=10), 3)
    assert rates[0] == pytest.approx(1e-3) and rates[1] < rates[0]


def test_negative_warm_up_is_refused():
    from napari_noisyfix.errors import NoisyFixError

    with pytest.raises(NoisyFixError, match="warm-up steps"):
        TrainConfig.plain(warmup_steps=-1)
