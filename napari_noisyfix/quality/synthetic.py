"""Probabilities made from a known mask, for tests and demos of the scoring without a trained model."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi


def probs_from_mask(
    mask: np.ndarray,
    n_classes: int = 2,
    sigma: float = 1.0,
    noise: float = 0.0,
    floor: float = 0.03,
    seed: int = 0,
) -> np.ndarray:
    """Class probabilities (C, H, W, float32) that a good model would give for ``mask``.

    The one-hot mask is blurred with a Gaussian of ``sigma`` pixels (soft boundaries), mixed with a
    uniform ``floor``, perturbed with Gaussian noise of standard deviation ``noise`` and renormalised.
    """
    rng = np.random.default_rng(seed)
    onehot = np.stack([(mask == c).astype(np.float32) for c in range(n_classes)])
    soft = np.stack([ndi.gaussian_filter(ch, sigma) for ch in onehot]) if sigma > 0 else onehot
    soft = (1 - floor * n_classes) * soft + floor
    if noise > 0:
        soft = np.clip(soft + rng.normal(0, noise, soft.shape), 1e-3, None)
    return (soft / soft.sum(axis=0, keepdims=True)).astype(np.float32)


def disk_mask(shape: tuple[int, int], centres, radii, cls: int = 1) -> np.ndarray:
    """uint8 mask with filled disks of class ``cls`` at ``centres`` with ``radii``."""
    rr, cc = np.ogrid[: shape[0], : shape[1]]
    out = np.zeros(shape, dtype=np.uint8)
    for (r, c), rad in zip(centres, radii, strict=True):
        out[(rr - r) ** 2 + (cc - c) ** 2 <= rad**2] = cls
    return out
