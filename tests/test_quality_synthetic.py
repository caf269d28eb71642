"""Synthetic probabilities behave like a good model's."""

import numpy as np
import pytest

from napari_noisyfix.quality.synthetic import disk_mask, probs_from_mask


def test_probs_sum_to_one_and_agree_with_the_mask():
    mask = disk_mask((32, 32), [(10, 10)], [5]) + disk_mask((32, 32), [(22, 22)], [5], cls=2)
    probs = probs_from_mask(mask, n_classes=3, noise=0.05, seed=3)
    assert probs.shape == (3, 32, 32) and probs.dtype == np.float32
    assert probs.sum(axis=0) == pytest.approx(np.ones((32, 32)), abs=1e-5)
    assert np.mean(probs.argmax(0) == mask) > 0.97
    assert np.array_equal(probs, probs_from_mask(mask, n_classes=3, noise=0.05, seed=3))


def test_disk_mask_area():
    mask = disk_mask((40, 40), [(20, 20)], [10], cls=4)
    assert set(np.unique(mask)) == {0, 4} and abs((mask > 0).sum() - np.pi * 100) < 15
