"""Predictor: shapes, batching, tiling against whole images, TTA, MC dropout, features, timing."""

import numpy as np
import pytest
import torch
from torch import nn

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.model.checkpoints import save_checkpoint
from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.networks import build_model
from napari_noisyfix.model.predictor import Predictor

CONFIG = TrainConfig(image_size=64, dropout=0.5)


class LocalNet(nn.Module):
    """Two 3x3 convolutions: each output pixel sees only a 5x5 neighbourhood (radius 2)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Tanh())
        self.head = nn.Conv2d(4, 2, 3, padding=1)
        self.dropout = nn.Dropout2d(0.5)

    def forward(self, x, return_features=False):
        feats = self.body(x)
        logits = self.head(self.dropout(feats))
        return (logits, feats) if return_features else logits

    def set_mc_dropout(self, active):
        self.dropout.train(active)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return build_model(CONFIG, 1, 2)


def image(h=64, w=64, seed=0):
    return np.random.default_rng(seed).normal(100, 20, (h, w)).astype(np.float32)


def test_predict_gives_probabilities(net):
    pred = Predictor(net, CONFIG, "cpu").predict(image(70, 50))
    assert pred.probs.shape == (2, 70, 50) and pred.probs.dtype == np.float32
    assert np.allclose(pred.probs.sum(0), 1, atol=1e-5)
    assert pred.samples is None and pred.uncertainty is None and pred.features is None


def test_batch_equals_single_predictions(net):
    pr = Predictor(net, CONFIG, "cpu")
    images = [image(64, 64, 0), image(96, 64, 1), image(64, 64, 2)]
    batch = pr.predict_batch(images, batch_size=2)
    for img, pred in zip(images, batch, strict=True):
        assert np.allclose(pred.probs, pr.predict(img).probs, atol=1e-5)


def test_tiled_matches_whole_image_away_from_tile_borders():
    model = LocalNet()
    img = image(150, 130)
    whole = Predictor(model, CONFIG, "cpu", tile=None).predict(img).probs
    tiled = Predictor(model, CONFIG, "cpu", tile=64, overlap=0.25).predict(img).probs
    # tiles start every 48 px (the last one flush with the image end); pixels within 2 px of
    # an interior tile edge see the tile's padding, and so do those at the bottom/right image
    # edge in the whole-image run (padded there to a multiple of 32): the rest must match
    near = np.zeros(img.shape, bool)
    for axis, length in enumerate(img.shape):
        starts = [*range(0, length - 64, 48), length - 64]
        for edge in {e for s in starts for e in (s, s + 64)} - {0}:
            sl = [slice(None), slice(None)]
            sl[axis] = slice(max(edge - 2, 0), edge + 2)
            near[tuple(sl)] = True
    assert near.mean() < 0.3
    assert np.allclose(whole[:, ~near], tiled[:, ~near], atol=1e-5)
    assert not np.allclose(whole, tiled, atol=1e-5)  # the borders differ: tiling happened


def test_tta_gives_four_flip_views(net):
    pred = Predictor(net, CONFIG, "cpu").predict(image(), tta=True)
    assert pred.samples.shape == (4, 2, 64, 64)
    assert np.allclose(pred.probs, pred.samples.mean(0), atol=1e-6)
    assert pred.uncertainty.shape == (64, 64) and (pred.uncertainty >= 0).all()


def test_mc_dropout_samples_differ_and_dropout_is_switched_back(net):
    pr = Predictor(net, CONFIG, "cpu")
    pred = pr.predict(image(), mc_samples=3)
    assert pred.samples.shape == (3, 2, 64, 64)
    assert not np.allclose(pred.samples[0], pred.samples[1])
    assert pred.uncertainty.max() > 0
    assert not net.dropout.training
    again = pr.predict(image())
    assert np.allclose(again.probs, pr.predict(image()).probs)


def test_variance_uncertainty(net):
    pred = Predictor(net, CONFIG, "cpu", uncertainty="variance").predict(image(), mc_samples=2)
    expected = pred.samples.var(axis=0).mean(axis=0)
    assert np.allclose(pred.uncertainty, expected, atol=1e-6)


def test_features_are_image_sized(net):
    pred = Predictor(net, CONFIG, "cpu").predict(image(80, 72), return_features=True)
    assert pred.features.shape[1:] == (80, 72) and pred.features.shape[0] == 16


def test_wrong_channels_refused(net):
    with pytest.raises(NoisyFixError, match="image 0"):
        Predictor(net, CONFIG, "cpu").predict(np.zeros((64, 64, 3), np.uint8))


def test_load_from_checkpoint_and_time_forward(net, tmp_path):
    save_checkpoint(tmp_path / "v0001", net.state_dict(), CONFIG, 1, 2)
    pr = Predictor.load(tmp_path / "v0001", device="cpu")
    assert np.allclose(
        pr.predict(image()).probs, Predictor(net, CONFIG, "cpu").predict(image()).probs, atol=1e-5
    )
    seconds = pr.time_forward([image(), image(seed=1)])
    assert 0 < seconds < 10
