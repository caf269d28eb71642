"""Augmentations move image, mask and weights together; MixUp makes consistent soft targets."""

import numpy as np
import pytest
import torch

from napari_noisyfix.model.augment import (
    augment_batch,
    dihedral,
    draw_dihedral,
    intensity_jitter,
    mixup,
    undo_dihedral,
)


@pytest.mark.parametrize("k", range(4))
@pytest.mark.parametrize("flip", [False, True])
def test_undo_dihedral_inverts(k, flip):
    t = torch.arange(2 * 4 * 4).reshape(2, 4, 4)
    assert torch.equal(undo_dihedral(dihedral(t, k, flip), k, flip), t)


def test_augment_batch_moves_every_map_alike():
    rng = np.random.default_rng(0)
    image = torch.arange(4 * 8 * 8, dtype=torch.float32).reshape(4, 1, 8, 8)
    mask = image[:, 0].long()  # the mask is a copy of the image: they must stay equal
    weight = image[:, 0].clone()
    out_img, out_mask, out_w = augment_batch(rng, [image, mask, weight], True, True)
    assert torch.equal(out_img[:, 0].long(), out_mask)
    assert torch.equal(out_img[:, 0], out_w)
    assert not torch.equal(out_img, image)  # something moved with this seed


def test_switches_off_mean_identity():
    rng = np.random.default_rng(0)
    assert {draw_dihedral(rng, False, False, True) for _ in range(20)} == {(0, False)}
    # rotations are skipped for non-square crops
    assert {draw_dihedral(rng, False, True, False)[0] for _ in range(20)} == {0}


def test_intensity_jitter_is_affine_per_sample():
    rng = np.random.default_rng(0)
    images = torch.randn(3, 1, 8, 8)
    out = intensity_jitter(rng, images, 0.2)
    for i in range(3):
        a, b = np.polyfit(images[i].flatten().numpy(), out[i].flatten().numpy(), 1)
        assert 0.8 <= a <= 1.2 and -0.2 <= b <= 0.2
    assert torch.equal(intensity_jitter(rng, images, 0.0), images)


def test_mixup_mixes_images_and_soft_targets_with_one_lambda():
    rng = np.random.default_rng(3)
    images = torch.stack([torch.zeros(1, 4, 4), torch.ones(1, 4, 4)])
    soft = torch.stack([torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])])[..., None, None]
    soft = soft.expand(2, 2, 4, 4)
    weights = torch.ones(2, 4, 4)
    (mixed, mixed_soft, mixed_w), lam, perm = mixup(rng, [images, soft, weights], 0.4)
    assert 0.5 <= lam <= 1
    assert torch.allclose(mixed_soft.sum(1), torch.ones(2, 4, 4))
    for i in range(2):
        fg_share = float(mixed[i, 0, 0, 0])  # image value = foreground share of the mix
        assert float(mixed_soft[i, 1, 0, 0]) == pytest.approx(fg_share)
    assert torch.allclose(mixed_w, weights)
    assert sorted(perm.tolist()) == [0, 1]
