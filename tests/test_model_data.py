"""Training data: per-image normalisation, pixel maps, padded random crops."""

import numpy as np
import pytest
import torch

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.model.data import (
    crop_sample,
    crop_size,
    load_samples,
    make_batch,
    normalize_image,
    round_up,
)
from napari_noisyfix.model.losses import IGNORE
from napari_noisyfix.project import Project


@pytest.fixture
def project(tmp_path):
    rng = np.random.default_rng(0)
    images = {
        "a": rng.integers(0, 255, (40, 50), dtype=np.uint8),
        "b": rng.integers(0, 255, (40, 50), dtype=np.uint8),
    }
    masks = {"a": (images["a"] > 128).astype(np.uint8), "b": np.zeros((40, 50), np.uint8)}
    return Project.create(tmp_path / "p", images, masks, clean={"b"})


def test_normalize_gray_and_rgb():
    gray = normalize_image(np.arange(12, dtype=np.uint16).reshape(3, 4))
    assert gray.shape == (1, 3, 4) and gray.dtype == np.float32
    assert abs(gray.mean()) < 1e-6 and gray.std() == pytest.approx(1, rel=1e-5)
    rgb = normalize_image(np.random.default_rng(0).random((5, 6, 3)))
    assert rgb.shape == (3, 5, 6)
    assert np.all(normalize_image(np.full((4, 4), 7.0)) == 0)  # flat image: no division by 0


def test_samples_hold_masks_weights_and_trusted(project):
    weights = {"a": np.full((40, 50), 2.0)}
    samples = load_samples(project, ["a", "b"], weights=weights)
    assert torch.equal(samples[0].mask, torch.from_numpy(project.mask("a").astype(np.int64)))
    assert float(samples[0].weight.mean()) == 2.0 and float(samples[1].weight.mean()) == 1.0
    assert not samples[0].trusted.any() and samples[1].trusted.all()  # "b" is clean


def test_bad_pixel_maps_are_refused(project):
    with pytest.raises(NoisyFixError, match="a: pixel map"):
        load_samples(project, ["a"], weights={"a": np.ones((3, 3))})
    with pytest.raises(NoisyFixError, match="a: weight map"):
        load_samples(project, ["a"], weights={"a": -np.ones((40, 50))})


def test_crops_are_padded_with_ignore_and_zero_weight(project):
    samples = load_samples(project, ["a"])
    image, mask, weight, trusted = crop_sample(np.random.default_rng(0), samples[0], (64, 64))
    assert image.shape == (1, 64, 64) and mask.shape == (64, 64)
    assert (mask[40:] == IGNORE).all() and (mask[:, 50:] == IGNORE).all()
    assert (weight[40:] == 0).all() and (weight[:40, :50] == 1).all()
    assert torch.equal(mask[:40, :50], samples[0].mask)


def test_crop_size_and_batches(project):
    samples = load_samples(project, ["a", "b"])
    assert crop_size(samples, 32) == (32, 32)
    assert crop_size(samples, None) == (64, 64) == (round_up(40), round_up(50))
    images, masks, weights, trusted = make_batch(
        np.random.default_rng(0), samples, [0, 1, 1], (32, 32)
    )
    assert images.shape == (3, 1, 32, 32) and masks.shape == weights.shape == trusted.shape == (
        3,
        32,
        32,
    )
    assert trusted[1:].all() and not trusted[0].any()
