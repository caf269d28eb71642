"""Thin structures are protected from confidence filtering."""

import numpy as np
import torch

from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.data import Sample
from napari_noisyfix.model.networks import build_model
from napari_noisyfix.model.steps import StepContext, apply_strategies, prepare_batch
from napari_noisyfix.model.thin import thin_structures


def membrane_and_blob():
    m = np.zeros((64, 64), dtype=np.int64)
    m[8:56, 40:43] = 1  # a membrane 3 px wide
    m[10:40, 8:30] = 1  # a wide object, 8 px from the edge, 10 px from the membrane
    return m


def test_thin_parts_are_found_and_wide_ones_are_not():
    m = membrane_and_blob()
    thin = thin_structures(m, 2)
    assert thin[8:56, 40:43].all()  # the whole membrane
    assert thin[8:56, 39].all() and thin[8:56, 43].all()  # and its one-pixel margin
    assert not thin[10:40, 8:30].any()  # not even the wide object's border
    gap = np.ones((32, 32), dtype=np.int64)
    gap[:, 15:18] = 0  # a narrow background gap between two objects is thin too
    assert thin_structures(gap, 2)[:, 15:18].all()


def test_planted_thin_structure_survives_filtering():
    cfg = TrainConfig.plain(
        encoder="mobilenet_v2",
        image_size=64,
        device="cpu",
        filter_threshold=0.8,
        augment_flips=False,
        augment_rot90=False,
        augment_intensity=0.0,
    )
    ctx = StepContext.create(build_model(cfg, 1, 2), cfg, torch.device("cpu"), 2)
    m = torch.from_numpy(membrane_and_blob())
    s = Sample(
        "s", torch.randn(1, 64, 64), m, torch.ones(64, 64), torch.zeros(64, 64, dtype=torch.bool)
    )
    _, soft, weights, trusted = prepare_batch(ctx, ([0], [s], (64, 64)), np.random.default_rng(0))
    probs = torch.zeros(1, 2, 64, 64)
    probs[:, 0] = 0.99  # a model that sees background everywhere contradicts both structures
    probs[:, 1] = 0.01
    _, new_w, share = apply_strategies(ctx, probs, soft, weights, trusted)
    assert (new_w[0][m == 1].reshape(-1) < 1).any()  # the wide object is filtered ...
    assert torch.all(new_w[0, 8:56, 40:43] == 1)  # ... the membrane keeps its full weight
    assert torch.all(new_w[0, 20:30, 15:25] < 1) and share > 0
