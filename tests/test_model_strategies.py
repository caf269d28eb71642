"""Each strategy changes what it should: filtering, pseudo-labels, consistency, curriculum."""

import numpy as np
import pytest
import torch

from napari_noisyfix.model.losses import prepare_target
from napari_noisyfix.model.strategies import (
    confidence_filter,
    consistency_loss,
    curriculum_fraction,
    curriculum_order,
    curriculum_pool,
    pseudo_label,
)


def planted():
    """A 1x3 image labelled [1, 1, 0]; the model is sure pixel 0 is background (wrong label),
    agrees on pixel 1, and is unsure on pixel 2."""
    probs = torch.tensor([[0.95, 0.1, 0.6], [0.05, 0.9, 0.4]])[None, :, None, :]
    soft, weight = prepare_target(torch.tensor([[[1, 1, 0]]]), None, 2)
    trusted = torch.zeros(1, 1, 3, dtype=torch.bool)
    return probs, soft, weight, trusted


def test_filter_lowers_only_the_confidently_wrong_pixel():
    probs, soft, weight, trusted = planted()
    out = confidence_filter(probs, soft, weight, trusted, threshold=0.8, low_weight=0.1)
    assert out[0, 0].tolist() == pytest.approx([0.1, 1.0, 1.0])


def test_filter_ignore_mode_and_trusted_pixels():
    probs, soft, weight, trusted = planted()
    out = confidence_filter(probs, soft, weight, trusted, threshold=0.8, mode="ignore")
    assert out[0, 0].tolist() == [0.0, 1.0, 1.0]
    trusted[0, 0, 0] = True
    kept = confidence_filter(probs, soft, weight, trusted, threshold=0.8, mode="ignore")
    assert kept[0, 0].tolist() == [1.0, 1.0, 1.0]


def test_pseudo_label_blends_confident_predictions_only():
    probs, soft, _, trusted = planted()
    out = pseudo_label(probs, soft, trusted, threshold=0.85, blend=0.5)
    assert out[0, :, 0, 0].tolist() == pytest.approx([0.5, 0.5])  # wrong label, model sure
    assert out[0, :, 0, 1].tolist() == pytest.approx([0.0, 1.0])  # agrees: unchanged
    assert out[0, :, 0, 2].tolist() == pytest.approx([1.0, 0.0])  # unsure: unchanged
    trusted[0, 0, 0] = True
    assert torch.equal(pseudo_label(probs, soft, trusted, 0.85, 0.5), soft)


def test_consistency_is_zero_for_equal_views_and_weighted():
    a = torch.tensor([[0.9, 0.2], [0.1, 0.8]])[None, :, None, :]
    b = torch.tensor([[0.5, 0.2], [0.5, 0.8]])[None, :, None, :]
    ones = torch.ones(1, 1, 2)
    assert float(consistency_loss(a, a, ones)) == 0.0
    assert float(consistency_loss(a, b, ones)) == pytest.approx((0.16 + 0.16) / 2)
    only_second = torch.tensor([[[0.0, 1.0]]])
    assert float(consistency_loss(a, b, only_second)) == pytest.approx(0.0)


def test_curriculum_order_follows_loss_with_clean_first():
    losses = np.array([0.5, 0.1, 0.9, 0.3])
    clean = np.array([False, False, True, False])
    assert curriculum_order(losses, clean).tolist() == [2, 1, 3, 0]
    assert curriculum_pool(losses, clean, 0.5) == [1, 2]
    assert curriculum_pool(losses, clean, 0.0, minimum=3) == [1, 2, 3]


def test_curriculum_widens_to_everything_by_mid_training():
    fractions = [curriculum_fraction(e, 10, 0.4) for e in range(10)]
    assert fractions[0] == pytest.approx(0.4)
    assert all(b >= a for a, b in zip(fractions, fractions[1:], strict=False))
    assert fractions[5] == 1.0
