"""Confident-learning thresholds follow the data and can be overridden."""

import numpy as np
import pytest

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.quality.params import PARAMS
from napari_noisyfix.quality.thresholds import dataset_thresholds, per_class_thresholds


def _probs(p_fg):
    return np.stack([1 - p_fg, p_fg]).astype(np.float32)


def test_threshold_is_mean_self_confidence():
    p_fg = np.array([[0.9, 0.7], [0.2, 0.0]], np.float32)
    mask = np.array([[1, 1], [0, 0]], np.uint8)
    t = per_class_thresholds(_probs(p_fg), mask)
    assert t == pytest.approx([0.9, 0.8])


def test_thresholds_adapt_when_class_balance_changes():
    rng = np.random.default_rng(0)
    p_fg = rng.uniform(0.4, 1.0, (32, 32)).astype(np.float32)
    few = (p_fg > 0.95).astype(np.uint8)  # rare class: only its most confident pixels
    many = (p_fg > 0.45).astype(np.uint8)  # common class: includes doubtful pixels
    t_few = per_class_thresholds(_probs(p_fg), few)
    t_many = per_class_thresholds(_probs(p_fg), many)
    assert t_few[1] > 0.95 and t_many[1] < 0.8
    assert t_few[0] != pytest.approx(t_many[0])


def test_absent_class_gets_default_and_override_wins():
    probs = np.stack([np.full((3, 3), 0.6), np.full((3, 3), 0.3), np.full((3, 3), 0.1)])
    t = per_class_thresholds(probs.astype(np.float32), np.zeros((3, 3), np.uint8), {1: 0.42})
    assert t[0] == pytest.approx(0.6) and t[1] == pytest.approx(0.42)
    assert t[2] == pytest.approx(PARAMS.scoring.default_threshold)


def test_dataset_thresholds_pool_pixels():
    a = (_probs(np.full((2, 2), 0.9, np.float32)), np.ones((2, 2), np.uint8))
    b = (_probs(np.full((2, 6), 0.5, np.float32)), np.ones((2, 6), np.uint8))
    assert dataset_thresholds([a, b])[1] == pytest.approx((4 * 0.9 + 12 * 0.5) / 16)


@pytest.mark.parametrize("override", [{5: 0.5}, {1: 0.0}, {1: 1.5}])
def test_bad_override_raises(override):
    with pytest.raises(NoisyFixError, match="override"):
        per_class_thresholds(
            _probs(np.zeros((2, 2), np.float32)), np.zeros((2, 2), np.uint8), override
        )


def test_bad_shapes_raise():
    with pytest.raises(NoisyFixError, match="expected"):
        per_class_thresholds(np.zeros((4, 4), np.float32), np.zeros((4, 4), np.uint8))
    with pytest.raises(NoisyFixError, match="no images"):
        dataset_thresholds([])
