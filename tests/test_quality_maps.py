"""Quality maps: values on known probabilities, sample maps, and the error score on planted errors."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.quality.maps import compute_maps
from napari_noisyfix.quality.synthetic import disk_mask, probs_from_mask


def test_pixel_maps_on_known_probabilities():
    probs = np.stack([np.full((2, 2), 0.8), np.full((2, 2), 0.2)]).astype(np.float32)
    mask = np.array([[0, 0], [1, 1]], np.uint8)
    maps = compute_maps(probs, mask, thresholds=np.array([0.8, 0.4], np.float32))
    assert maps["confidence"] == pytest.approx(np.full((2, 2), 0.8))
    assert maps["margin"] == pytest.approx(np.full((2, 2), 0.6))
    h = -(0.8 * np.log(0.8) + 0.2 * np.log(0.2)) / np.log(2)
    assert maps["entropy"] == pytest.approx(np.full((2, 2), h), rel=1e-4)
    assert maps["label_quality"] == pytest.approx(np.array([[1, 1], [0.5, 0.5]]))
    assert all(m.dtype == np.float32 and m.shape == (2, 2) for m in maps.values())
    assert "variance" not in maps


def test_sample_maps():
    probs = np.stack([np.full((3, 3), 0.5), np.full((3, 3), 0.5)]).astype(np.float32)
    agree = np.repeat(probs[None], 4, axis=0)
    split = np.stack([np.stack([np.full((3, 3), v), np.full((3, 3), 1 - v)]) for v in (0, 1, 0, 1)])
    m_agree = compute_maps(probs, np.zeros((3, 3), np.uint8), samples=agree)
    m_split = compute_maps(probs, np.zeros((3, 3), np.uint8), samples=split.astype(np.float32))
    assert (
        m_agree["variance"].max() == pytest.approx(0) and m_agree["mutual_information"].max() < 1e-5
    )
    assert m_split["variance"] == pytest.approx(np.full((3, 3), 0.25))
    assert m_split["mutual_information"] == pytest.approx(np.ones((3, 3)), abs=1e-3)
    with pytest.raises(NoisyFixError, match="samples"):
        compute_maps(probs, np.zeros((3, 3), np.uint8), samples=split[:, :1])


def test_error_score_ranks_planted_errors_first():
    truth = disk_mask((64, 64), [(16, 16), (16, 48), (48, 16), (48, 48)], [7, 6, 8, 7])
    given = truth.copy()
    given[disk_mask((64, 64), [(16, 16)], [7]) > 0] = 0
    given[ndi.binary_dilation(disk_mask((64, 64), [(48, 48)], [7]), iterations=3)] = 1
    wrong = given != truth
    score = compute_maps(probs_from_mask(truth, noise=0.02), given)["error_score"]
    assert score.min() >= 0 and score.max() <= 1
    assert score[wrong].mean() > 0.6 and score[~wrong].mean() < 0.1
    assert np.quantile(score[wrong], 0.25) > np.quantile(score[~wrong], 0.99)


def test_bad_input_names_the_image():
    with pytest.raises(NoisyFixError, match="slice7"):
        compute_maps(np.zeros((2, 4, 4), np.float32), np.zeros((5, 5), np.uint8), name="slice7")
