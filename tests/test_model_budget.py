"""Training budgets: auto picks quick on a CPU, explicit options win, the estimate is a timing."""

import pytest

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.model import budget
from napari_noisyfix.model.budget import (
    BUDGETS,
    duration_text,
    estimate_seconds,
    given_plan,
    plan_text,
    plan_training,
)
from napari_noisyfix.model.config import TrainConfig


def test_auto_is_quick_on_a_cpu_and_sets_network_schedule_size_and_folds():
    plan = plan_training("auto", {"device": "cpu"})
    quick = BUDGETS["quick"]
    assert plan.budget == "quick" and "CPU" in plan.why
    assert plan.config.encoder == quick.encoder == "mobilenetv3_small"
    assert (plan.config.epochs, plan.config.steps_per_epoch) == (
        quick.epochs,
        quick.steps_per_epoch,
    )
    assert plan.config.image_size == quick.image_size and plan.folds == quick.folds
    assert plan.steps() == (quick.folds + 1) * quick.epochs * quick.steps_per_epoch


def test_options_given_explicitly_win_over_the_budget():
    plan = plan_training("thorough", {"epochs": 3, "device": "cpu"}, folds=2)
    assert plan.config.epochs == 3 and plan.folds == 2
    assert plan.config.steps_per_epoch == BUDGETS["thorough"].steps_per_epoch
    assert plan.config.image_size == 256


def test_unknown_budget_is_one_clear_error():
    with pytest.raises(NoisyFixError, match="unknown budget 'huge'"):
        plan_training("huge")


def test_the_estimate_is_steps_times_a_measured_step(monkeypatch):
    plan = plan_training("quick", {"device": "cpu"})
    monkeypatch.setattr(budget, "time_step", lambda config, c, k: 0.5)
    assert estimate_seconds(plan, 1, 2) == pytest.approx(plan.steps() * 0.5)
    text = plan_text(plan, estimate_seconds(plan, 1, 2))
    assert "budget quick (chosen)" in text and "on cpu" in text
    assert text.endswith(f"estimated {duration_text(plan.steps() * 0.5)}")


def test_a_real_step_is_timed_on_the_device():
    config = TrainConfig(encoder="mobilenetv3_small", batch_size=2, image_size=64, device="cpu")
    seconds = budget.time_step(config, 1, 2, repeats=1)
    assert 0 < seconds < 60


def test_a_mixmatch_step_is_timed_with_its_guesses_and_its_views():
    import torch

    from napari_noisyfix.model.mixmatch import MIXMATCH

    seen = []

    class Recorder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 2, 1)

        def forward(self, x):
            seen.append((x.shape[0], torch.is_grad_enabled()))
            return self.conv(x)

    x = torch.zeros(3, 1, 8, 8)
    for strategy, expected in (
        ("robust", [(3, True)]),
        ("mixmatch", [(3, False)] * MIXMATCH.k + [(3 * MIXMATCH.k, True)]),
    ):
        seen.clear()
        config = TrainConfig(strategy=strategy, encoder="mobilenetv3_small", device="cpu")
        budget._loss_of(config, Recorder(), x, 2)().backward()
        assert seen == expected


def test_durations_read_in_seconds_minutes_or_hours():
    assert duration_text(12.4) == "about 12 s"
    assert duration_text(420) == "about 7 min"
    assert duration_text(5400) == "about 1.5 h"


def test_a_given_config_keeps_its_settings():
    config = TrainConfig(epochs=1, steps_per_epoch=2, device="cpu")
    plan = given_plan(config, None)
    assert plan.config is config and plan.folds == BUDGETS["standard"].folds
    assert given_plan(config, 2).folds == 2
