"""Per-image Dice and loss used for validation and the curriculum."""

import numpy as np
import pytest
import torch

from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.data import Sample
from napari_noisyfix.model.losses import IGNORE
from napari_noisyfix.model.networks import build_model
from napari_noisyfix.model.scoring import foreground_dice, score_samples


def test_foreground_dice_values():
    pred = torch.tensor([[1, 1, 0, 0]])
    mask = torch.tensor([[1, 0, 0, 0]])
    assert foreground_dice(pred, mask, 2) == pytest.approx(2 / 3)
    assert foreground_dice(torch.zeros(2, 2), torch.zeros(2, 2), 2) == 1.0
    assert foreground_dice(pred, torch.tensor([[1, IGNORE, 0, 0]]), 2) == 1.0
    three = foreground_dice(torch.tensor([1, 2]), torch.tensor([1, 1]), 3)
    assert three == pytest.approx((2 / 3 + 0.0) / 2)


def test_score_samples_restores_training_mode():
    model = build_model(TrainConfig(encoder="mobilenet_v2"), 1, 2).train()
    s = Sample(
        "x",
        torch.randn(1, 40, 40),
        torch.zeros(40, 40, dtype=torch.long),
        torch.ones(40, 40),
        torch.zeros(40, 40, dtype=torch.bool),
    )
    losses, dices = score_samples(model, [s, s], 32, torch.device("cpu"), False)
    assert model.training and losses.shape == dices.shape == (2,)
    assert np.all(losses > 0) and np.all((dices >= 0) & (dices <= 1))
    assert losses[0] == pytest.approx(losses[1])
