"""The project's own label noise, estimated after the warm-up, and the robust strength it sets.

The adaptive recipe (``TrainConfig.auto_strength``) trains plain cross-entropy for the warm-up
epochs, then asks the model how wrong the labels look, on patients it has not trained on (the
early-stopping validation split; the training images, in-sample, when there is none):

- ``contradicted``: the share of judged pixels where the model gives another class than the
  label more than ``filter_threshold`` (what the confidence filter would lower);
- ``expected``: the share the model's own uncertainty accounts for, were the labels drawn from
  its probabilities (the mean of ``1 - max p`` over its pixels above the threshold);
- ``noise = max(0, contradicted - expected)``: the pixels it contradicts beyond that.

Judged pixels exclude the labels' one-pixel outlines (where any two annotators differ), thin
structures (:mod:`.thin`) and trusted pixels. ``strength = min(1, noise / (FULL_SHARE x the
share of the rarest labelled class))``: full strength when a quarter of the minority class looks
wrong, scaled to the class so that it means the same for small nuclei and large organs. The
strength then sets the recipe: exactly the ``noise`` share of pixels that the model contradicts
most is down-weighted (the filter threshold is that quantile of the judged pixels, never below
``filter_threshold``) and, whenever the strength is above 0, the Dice term of ``ce_dice`` takes
its full ``dice_weight``. Clean labels, and a model too unsure to contradict them, give a
strength of 0: plain training, no Dice term. (The Dice weight was ``strength x dice_weight``
once: in measure 3, at strength 0.38, that recovered 17% of a noisy-to-clean gap against 62% at
the full weight, with the same filter; BENCHMARKS.md, issue 19.)

At the end of a short warm-up a model is often that unsure. So in an out-of-fold run (``noisyfix
train``, ``update``) the final model takes its estimate from the folds' out-of-fold predictions
instead (:func:`out_of_fold_estimate`: every image judged by a fold model that never trained on
it, after the folds' whole schedule); only the fold models estimate with their own warm-up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from scipy import ndimage as ndi

from .losses import IGNORE
from .scoring import image_logits
from .thin import thin_structures

#: Full strength when the pixels that look wrong reach this share of the rarest labelled class.
FULL_SHARE = 0.25


@dataclass(frozen=True)
class NoiseEstimate:
    """What the warm-up model says about the labels, and the strength chosen from it."""

    source: str
    pixels: int
    contradicted: float
    expected: float
    noise: float
    minority: float
    strength: float
    filter_threshold: float
    dice_weight: float

    def to_dict(self) -> dict:
        """JSON-able fields."""
        return asdict(self)

    def describe(self) -> str:
        """The choice in plain words."""
        if self.strength <= 0:
            return (
                f"labels look clean to the model ({self.source}: it contradicts "
                f"{self.contradicted:.1%} of pixels, its own uncertainty explains "
                f"{self.expected:.1%}): plain training, nothing filtered"
            )
        return (
            f"estimated label noise {self.noise:.1%} of pixels ({self.source}: the model "
            f"contradicts {self.contradicted:.1%}, its own uncertainty explains "
            f"{self.expected:.1%}); robust strength {self.strength:.2f}: the {self.noise:.1%} "
            f"most contradicted pixels (model above {self.filter_threshold:.2f}) down-weighted, "
            f"Dice weight {self.dice_weight:.2f}; thin structures protected"
        )


def judged_pixels(mask: np.ndarray, n_classes: int, trusted: np.ndarray) -> np.ndarray:
    """Pixels the estimate looks at: labelled, off the labels' outlines, not thin, not trusted."""
    labelled = mask != IGNORE
    outline = np.zeros_like(labelled)
    for c in range(n_classes):
        region = mask == c
        outline |= region & ~ndi.binary_erosion(region, border_value=1)
    return labelled & ~outline & ~thin_structures(mask, n_classes) & ~trusted


@torch.no_grad()
def contradiction_maps(model, samples, tile, device, amp: bool) -> list[tuple[np.ndarray, ...]]:
    """Per sample: (p of the most likely other class than the label, max p), on judged pixels."""
    was_training = model.training
    model.eval()
    out = []
    try:
        for s in samples:
            probs = torch.softmax(image_logits(model, s.image, tile, device, amp), dim=0).cpu()
            out.append(pixel_maps(probs.numpy(), s.mask.numpy(), s.trusted.numpy()))
    finally:
        model.train(was_training)
    return out


def pixel_maps(probs: np.ndarray, mask: np.ndarray, trusted: np.ndarray) -> tuple[np.ndarray, ...]:
    """(p of the most likely other class than the label, max p) on the judged pixels of one
    (C, H, W) probability map, and the labelled pixels' classes."""
    n = probs.shape[0]
    judged = judged_pixels(mask, n, trusted)
    onehot = np.eye(n, dtype=bool)[np.where(mask == IGNORE, 0, mask)].transpose(2, 0, 1)
    other = np.where(onehot, 0.0, probs).max(axis=0)
    return other[judged], probs.max(axis=0)[judged], mask[mask != IGNORE]


def estimate_noise(maps, threshold: float, dice_weight: float, source: str) -> NoiseEstimate:
    """The estimate and strength from :func:`contradiction_maps` (see the module's text)."""
    other = np.concatenate([m[0] for m in maps]) if maps else np.zeros(0)
    conf = np.concatenate([m[1] for m in maps]) if maps else np.zeros(0)
    labels = np.concatenate([m[2] for m in maps]) if maps else np.zeros(0, int)
    if other.size == 0:
        return NoiseEstimate(source, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    contradicted = float((other > threshold).mean())
    expected = float(np.where(conf > threshold, 1 - conf, 0).mean())
    noise = max(0.0, contradicted - expected)
    counts = np.bincount(labels.astype(int))
    minority = float(counts[counts > 0].min() / counts.sum()) if len(counts[counts > 0]) > 1 else 0
    strength = min(1.0, noise / (FULL_SHARE * minority)) if minority > 0 else 0.0
    cut = float(np.quantile(other, 1 - noise)) if noise > 0 else 0.0
    cut = max(cut, threshold) if noise > 0 else 0.0
    return NoiseEstimate(
        source,
        int(other.size),
        contradicted,
        expected,
        noise,
        minority,
        strength,
        cut if strength > 0 else 0.0,
        dice_weight if strength > 0 else 0.0,
    )


def fold_config(config):
    """The settings of an out-of-fold run's folds: an adaptive run's folds train the recipe at
    its fixed strength. The folds judge the labels (the scores, and the final model's strength
    by :func:`out_of_fold_estimate`), as every judge measured in BENCHMARKS.md did; estimated at
    their own warm-up, their strength would fall to plain cross-entropy, whose softer
    probabilities explain the noise away."""
    return (
        replace(config, auto_strength=False, strategy="robust") if config.auto_strength else config
    )


def out_of_fold_estimate(project, probs: dict, config) -> NoiseEstimate | None:
    """The estimate from the folds' out-of-fold probabilities ``probs`` (name -> (C, H, W)):
    every image judged by a model that never trained on it, with the pixels judged as in
    :func:`judged_pixels` (a clean-subset image's pixels are trusted, so not judged). None when
    ``config`` is not adaptive or there are no such probabilities.

    This is what the final model of an adaptive out-of-fold run trains with: at the end of its
    warm-up a model is still too unsure to contradict the labels (its own uncertainty explains
    the noise away, BENCHMARKS.md), while the folds' trained models tell noisy labels from
    expert ones. Its text says where it comes from.
    """
    if not config.auto_strength or not probs:
        return None
    maps = []
    for name in sorted(probs):
        mask = np.asarray(project.mask(name))
        trusted = np.full(mask.shape, project.is_clean(name), bool)
        maps.append(pixel_maps(np.asarray(probs[name], np.float32), mask, trusted))
    source = f"out-of-fold predictions of {len(maps)} images"
    return estimate_noise(maps, config.filter_threshold, config.dice_weight, source)


def warmup_config(config):
    """The settings of an adaptive run before its estimate: plain cross-entropy."""
    return replace(config, dice_weight=0.0) if config.auto_strength else config


def apply_estimate(config, estimate: NoiseEstimate):
    """The run's settings once the strength is set: filter threshold and Dice weight."""
    return replace(
        config, filter_threshold=estimate.filter_threshold, dice_weight=estimate.dice_weight
    )
