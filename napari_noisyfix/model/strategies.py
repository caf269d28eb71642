"""Noise-robust training strategies as small pure functions the trainer composes.

- :func:`confidence_filter`: after a warm-up, pixels where the model confidently gives another
  class than the given mask are down-weighted or ignored (in the spirit of confident learning
  and small-loss selection).
- :func:`pseudo_label`: blend the model's confident prediction into the target (bootstrapping,
  Reed et al. 2015).
- :func:`consistency_loss`: agreement between the predictions of two augmented views.
- :func:`curriculum_order` / :func:`curriculum_fraction`: clean, then low-loss images first, the
  pool widening to every image by the middle of training.

Pixels flagged as trusted (clean-subset images, expert-reviewed pixels) are never filtered or
pseudo-labelled.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def confidence_filter(
    probs: torch.Tensor,
    soft_target: torch.Tensor,
    weight: torch.Tensor,
    trusted: torch.Tensor,
    threshold: float,
    mode: str = "downweight",
    low_weight: float = 0.1,
) -> torch.Tensor:
    """Weights with confidently contradicted, untrusted pixels lowered.

    Parameters
    ----------
    probs, soft_target : (N, C, H, W)
        Model probabilities (detached) and the given labels as soft targets.
    weight : (N, H, W)
        Current per-pixel weights.
    trusted : (N, H, W) bool
        Pixels that keep their weight whatever the model says.
    threshold : float
        A pixel is contradicted when the model puts more than this on a class the label does not.
    mode : {"downweight", "ignore"}
        Multiply the weight by ``low_weight``, or set it to 0.
    """
    flagged = contradicted(probs, soft_target, trusted, threshold)
    factor = 0.0 if mode == "ignore" else low_weight
    return torch.where(flagged, weight * factor, weight)


def contradicted(
    probs: torch.Tensor, soft_target: torch.Tensor, trusted: torch.Tensor, threshold: float
) -> torch.Tensor:
    """(N, H, W) bool: untrusted pixels where the model puts more than ``threshold`` on a class
    the label does not (what :func:`confidence_filter` lowers and MixMatch leaves unlabelled)."""
    other = (probs * (1 - soft_target)).amax(dim=1)
    return (other > threshold) & ~trusted


def pseudo_label(
    probs: torch.Tensor,
    soft_target: torch.Tensor,
    trusted: torch.Tensor,
    threshold: float,
    blend: float,
) -> torch.Tensor:
    """Soft targets moved by ``blend`` towards the model's class where it is confident.

    Where ``max_c p_c > threshold`` and the pixel is not trusted the target becomes
    ``(1 - blend) * t + blend * onehot(argmax p)``.
    """
    conf, pred = probs.max(dim=1)
    confident = ((conf > threshold) & ~trusted).unsqueeze(1)
    onehot = F.one_hot(pred, probs.shape[1]).permute(0, 3, 1, 2).to(soft_target.dtype)
    blended = (1 - blend) * soft_target + blend * onehot
    return torch.where(confident, blended, soft_target)


def consistency_loss(probs_a: torch.Tensor, probs_b: torch.Tensor, weight: torch.Tensor):
    """Weighted mean squared difference of two (N, C, H, W) probability maps."""
    pixel = (probs_a - probs_b).pow(2).sum(dim=1)
    return (pixel * weight).sum() / weight.sum().clamp_min(1e-7)


def curriculum_fraction(epoch: int, epochs: int, start: float) -> float:
    """Share of images in the pool at ``epoch`` (0-based): ``start``, reaching 1 halfway."""
    ramp = max(1, epochs // 2)
    return min(1.0, start + (1 - start) * epoch / ramp)


def curriculum_order(losses: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Image indices from easy to hard: clean images first, each group by increasing loss."""
    return np.lexsort((np.asarray(losses, dtype=float), ~np.asarray(clean, dtype=bool)))


def curriculum_pool(losses: np.ndarray, clean: np.ndarray, fraction: float, minimum: int = 1):
    """The first ``ceil(fraction * n)`` (at least ``minimum``) images of :func:`curriculum_order`."""
    order = curriculum_order(losses, clean)
    keep = max(minimum, math.ceil(fraction * len(order)))
    return sorted(order[:keep].tolist())
