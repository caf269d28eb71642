"""Segmentation losses, including the noise-robust ones, with per-pixel weights and an ignore value.

Every loss has the signature ``loss(logits, target, weight=None, ignore_index=IGNORE)``:

- ``logits``: (N, C, H, W) raw network outputs (softmax over C; for two classes softmax
  cross-entropy is binary cross-entropy on the logit difference, so "bce" is an alias of "ce");
- ``target``: (N, H, W) integer class ids, or (N, C, H, W) soft targets (MixUp, pseudo-labels);
- ``weight``: optional (N, H, W) non-negative per-pixel weights;
- ``ignore_index``: pixels of an integer target with this value count for nothing.

Pixel losses are averaged with the weights (sum of w * l over the sum of w).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..errors import NoisyFixError
from .config import LOSS_ALIASES, LOSS_NAMES

IGNORE = 255
#: log(0) replacement of the reverse cross-entropy term (Wang et al. 2019, "A = -4").
RCE_LOG_ZERO = -4.0
_EPS = 1e-7

LossFn = Callable[..., torch.Tensor]


def prepare_target(
    target: torch.Tensor, weight: torch.Tensor | None, n_classes: int, ignore_index: int = IGNORE
) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft targets (N, C, H, W) float and weights (N, H, W) with ignored pixels set to 0."""
    if target.ndim == 4:
        soft = target.float()
        valid = torch.ones(soft.shape[0], *soft.shape[2:], device=soft.device)
    else:
        valid = (target != ignore_index).float()
        ids = torch.where(target == ignore_index, torch.zeros_like(target), target).long()
        soft = F.one_hot(ids, n_classes).permute(0, 3, 1, 2).float()
    w = valid if weight is None else valid * weight.float()
    return soft, w


def _weighted_mean(pixel_loss: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return (pixel_loss * w).sum() / w.sum().clamp_min(_EPS)


def cross_entropy(logits, target, weight=None, ignore_index=IGNORE) -> torch.Tensor:
    """Weighted softmax cross-entropy: ``-sum_c t_c log p_c``."""
    soft, w = prepare_target(target, weight, logits.shape[1], ignore_index)
    pixel = -(soft * F.log_softmax(logits.float(), dim=1)).sum(dim=1)
    return _weighted_mean(pixel, w)


def gce(logits, target, weight=None, ignore_index=IGNORE, q: float = 0.7) -> torch.Tensor:
    """Generalized cross-entropy (Zhang & Sabuncu 2018): ``sum_c t_c (1 - p_c^q) / q``."""
    if not 0 < q <= 1:
        raise NoisyFixError(f"GCE q must be in (0, 1], got {q}")
    soft, w = prepare_target(target, weight, logits.shape[1], ignore_index)
    p = F.softmax(logits.float(), dim=1).clamp_min(_EPS)
    pixel = (soft * (1 - p.pow(q)) / q).sum(dim=1)
    return _weighted_mean(pixel, w)


def sce(
    logits, target, weight=None, ignore_index=IGNORE, alpha: float = 0.1, beta: float = 1.0
) -> torch.Tensor:
    """Symmetric cross-entropy (Wang et al. 2019): ``alpha * CE + beta * RCE``.

    The reverse term is ``-sum_c p_c log t_c`` with ``log 0`` replaced by ``-4``.
    """
    soft, w = prepare_target(target, weight, logits.shape[1], ignore_index)
    logp = F.log_softmax(logits.float(), dim=1)
    ce_pixel = -(soft * logp).sum(dim=1)
    log_t = torch.log(soft.clamp_min(math.exp(RCE_LOG_ZERO)))
    rce_pixel = -(logp.exp() * log_t).sum(dim=1)
    return _weighted_mean(alpha * ce_pixel + beta * rce_pixel, w)


def soft_dice(logits, target, weight=None, ignore_index=IGNORE, smooth: float = 1.0):
    """Soft Dice loss ``1 - mean_c (2 sum w p t + s) / (sum w p + sum w t + s)`` over the batch.

    Averaged over the foreground classes 1..C-1 (over all classes when C == 1).
    """
    soft, w = prepare_target(target, weight, logits.shape[1], ignore_index)
    p = F.softmax(logits.float(), dim=1)
    w = w.unsqueeze(1)
    dims = (0, 2, 3)
    inter = (w * p * soft).sum(dims)
    denom = (w * p).sum(dims) + (w * soft).sum(dims)
    dice = (2 * inter + smooth) / (denom + smooth)
    dice = dice[1:] if dice.numel() > 1 else dice
    return 1 - dice.mean()


def ce_dice(logits, target, weight=None, ignore_index=IGNORE) -> torch.Tensor:
    """Cross-entropy plus soft Dice (BCE + Dice for two classes)."""
    return cross_entropy(logits, target, weight, ignore_index) + soft_dice(
        logits, target, weight, ignore_index
    )


LOSSES: dict[str, LossFn] = dict(
    zip(LOSS_NAMES, (cross_entropy, soft_dice, ce_dice, gce, sce), strict=True)
)
ALIASES = LOSS_ALIASES


def make_loss(config) -> LossFn:
    """The loss named by ``config.loss`` with its parameters (``gce_q``, ``sce_alpha``, ``sce_beta``)."""
    name = ALIASES.get(config.loss, config.loss)
    if name not in LOSSES:
        raise NoisyFixError(
            f"unknown loss {config.loss!r}; choose from {sorted(LOSSES) + sorted(ALIASES)}"
        )
    if name == "gce":
        return lambda lg, t, w=None, ig=IGNORE: gce(lg, t, w, ig, q=config.gce_q)
    if name == "sce":
        return lambda lg, t, w=None, ig=IGNORE: sce(
            lg, t, w, ig, alpha=config.sce_alpha, beta=config.sce_beta
        )
    return LOSSES[name]
