"""The adaptive recipe's noise estimate: clean labels -> plain, planted noise -> strength rises."""

import numpy as np
import pytest
import torch

from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.data import Sample
from napari_noisyfix.model.noise_level import (
    apply_estimate,
    contradiction_maps,
    estimate_noise,
    judged_pixels,
    warmup_config,
)


class TruthModel(torch.nn.Module):
    """A stand-in network that knows the truth: the image's channel is the true mask, and
    ``sharpness`` sets how sure it is (logits +- sharpness)."""

    def __init__(self, sharpness: float):
        super().__init__()
        self.sharpness = sharpness

    def forward(self, x):
        fg = (x[:, :1] - 0.5) * 2 * self.sharpness
        return torch.cat([-fg, fg], dim=1)


def truth_masks(n=4, size=64, seed=0):
    rng = np.random.default_rng(seed)
    masks = []
    for _ in range(n):
        m = np.zeros((size, size), dtype=np.int64)
        for _ in range(4):
            r, c = rng.integers(8, size - 16, size=2)
            m[r : r + 12, c : c + 12] = 1
        masks.append(m)
    return masks


def samples(truths, given):
    return [
        Sample(
            f"s{i}",
            torch.from_numpy(t[None].astype(np.float32)),
            torch.from_numpy(g),
            torch.ones(g.shape),
            torch.zeros(g.shape, dtype=torch.bool),
        )
        for i, (t, g) in enumerate(zip(truths, given, strict=True))
    ]


def estimate(truths, given, sharpness=6.0):
    maps = contradiction_maps(TruthModel(sharpness), samples(truths, given), 64, "cpu", False)
    return estimate_noise(maps, threshold=0.8, dice_weight=1.0, source="validation patients")


def plant_errors(truths):
    """Half the masks wrong: one with an object dropped and a false blob, one dilated."""
    noisy = [t.copy() for t in truths]
    noisy[0][noisy[0] == 1] = 0
    noisy[0][40:56, 4:20] = 1
    from scipy import ndimage as ndi

    noisy[1] = ndi.binary_dilation(noisy[1], iterations=4).astype(np.int64)
    return noisy


def test_clean_labels_leave_plain_training():
    truths = truth_masks()
    est = estimate(truths, truths)
    assert est.contradicted == 0 and est.noise == 0 and est.strength == 0
    assert est.filter_threshold == 0 and est.dice_weight == 0
    assert "plain training, nothing filtered" in est.describe()


def test_planted_noise_raises_the_strength_to_the_planted_share():
    truths = truth_masks()
    noisy = plant_errors(truths)
    est = estimate(truths, noisy)
    judged = sum(int(judged_pixels(g, 2, np.zeros(g.shape, bool)).sum()) for g in noisy)
    wrong = sum(
        int(((g != t) & judged_pixels(g, 2, np.zeros(g.shape, bool))).sum())
        for g, t in zip(noisy, truths, strict=True)
    )
    assert est.pixels == judged
    assert est.noise == pytest.approx(wrong / judged, rel=0.05)  # a sure model finds them all
    assert est.strength > 0.5 and est.dice_weight == 1.0  # the full Dice term once it looks noisy
    assert est.filter_threshold >= 0.8
    assert "robust strength" in est.describe() and "thin structures protected" in est.describe()
    assert estimate(truths, plant_errors(truths)).strength > estimate(truths, truths).strength


def test_a_model_that_cannot_judge_leaves_plain_training():
    truths = truth_masks()
    est = estimate(truths, plant_errors(truths), sharpness=0.5)  # p about 0.62 everywhere
    assert est.contradicted == 0 and est.strength == 0


def test_the_estimate_sets_the_run_settings():
    cfg = TrainConfig.adaptive(encoder="mobilenet_v2", device="cpu")
    assert cfg.auto_strength and warmup_config(cfg).dice_weight == 0
    truths = truth_masks()
    est = estimate(truths, plant_errors(truths))
    after = apply_estimate(cfg, est)
    assert after.filter_threshold == est.filter_threshold and after.dice_weight == est.dice_weight
    assert warmup_config(TrainConfig.robust()).dice_weight == 1.0  # fixed recipes untouched


def _truth_probs(truth, sharpness=6.0):
    fg = 1.0 / (1.0 + np.exp(-(truth - 0.5) * 4 * sharpness))
    return np.stack([1 - fg, fg]).astype(np.float32)


def test_the_out_of_fold_estimate_sees_planted_noise_and_not_expert_labels(tmp_path):
    from napari_noisyfix.model.noise_level import out_of_fold_estimate
    from napari_noisyfix.project import Project

    truths = truth_masks()
    names = [f"s{i}" for i in range(len(truths))]
    images = {n: (t * 200).astype(np.uint8) for n, t in zip(names, truths, strict=True)}
    probs = {n: _truth_probs(t) for n, t in zip(names, truths, strict=True)}
    cfg = TrainConfig.adaptive(encoder="mobilenet_v2", device="cpu")

    def project(root, masks, clean=None):
        return Project.create(
            tmp_path / root, images, dict(zip(names, masks, strict=True)), clean=clean
        )

    noisy = out_of_fold_estimate(project("noisy", plant_errors(truths)), probs, cfg)
    assert noisy.strength > 0 and noisy.noise > 0
    assert noisy.source == f"out-of-fold predictions of {len(names)} images"
    expert = out_of_fold_estimate(project("expert", truths), probs, cfg)
    assert expert.contradicted == 0 and expert.strength == 0
    # a clean-subset mask is trusted: its pixels are not judged
    trusted = out_of_fold_estimate(project("trusted", plant_errors(truths), set(names)), probs, cfg)
    assert trusted.pixels == 0 and trusted.strength == 0
