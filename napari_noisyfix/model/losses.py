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


def ce_dice(logits, target, weight=None, ignore_index=IGNORE, dice_weight: float = 1.0):
    """Cross-entropy plus ``dice_weight`` x soft Dice (BCE + Dice for two classes)."""
    ce = cross_entropy(logits, target, weight, ignore_index)
    if dice_weight == 0:
        return ce
    return ce + dice_weight * soft_dice(logits, target, weight, ignore_index)


class TLoss(torch.nn.Module):
    """T-Loss (Gonzalez-Jimenez et al., MICCAI 2023): the negative log-likelihood of a Student-t.

    Written after the paper and its Apache-2.0 reference code: per image, the residuals
    ``delta = p - t`` of the D pixels are one D-dimensional Student-t variable with identity
    scale (the reference's fixed ``lambda = 1``, precision ``e``) and ``nu`` degrees of freedom,
    kept as ``log nu`` and learned with the network. Its NLL

    ``-lgamma((nu + D) / 2) + lgamma(nu / 2) - D / 2 + D / 2 log(pi nu)
    + (nu + D) / 2 log(1 + e sum delta^2 / nu)``

    grows only logarithmically with the image's squared error, so an image whose mask is badly
    wrong pulls less than under a squared or cross-entropy loss; a small learned ``nu`` means heavy
    tails (much robustness), a large one tends to the Gaussian (mean squared error). Our
    generalisation: D is the per-image sum of the pixel weights (ignored pixels count 0) and
    ``sum delta^2`` is weighted and taken over classes, halved (for two classes: the foreground
    residual squared, as in the reference); the per-image NLL is divided by D, which keeps its
    scale comparable with the pixel losses (a constant factor for the network; AdamW is
    insensitive to it) and the images of a batch are averaged.
    """

    def __init__(self, nu: float = 1.0):
        super().__init__()
        if nu <= 0:
            raise NoisyFixError(f"T-Loss nu must be > 0, got {nu}")
        self.log_nu = torch.nn.Parameter(torch.tensor(math.log(nu), dtype=torch.float32))

    @property
    def nu(self) -> float:
        """The current degree of freedom."""
        return float(self.log_nu.detach().exp())

    def forward(self, logits, target, weight=None, ignore_index=IGNORE) -> torch.Tensor:
        soft, w = prepare_target(target, weight, logits.shape[1], ignore_index)
        p = F.softmax(logits.float(), dim=1)
        sq = ((p - soft).pow(2).sum(dim=1) * 0.5 * w).sum(dim=(1, 2))
        d = w.sum(dim=(1, 2))
        nu = self.log_nu.exp()
        nll = (
            -torch.lgamma((nu + d) / 2)
            + torch.lgamma(nu / 2)
            - d / 2
            + d / 2 * (math.log(math.pi) + self.log_nu)
            + (nu + d) / 2 * torch.log1p(math.e * sq / nu)
        )
        has = d > 0
        return (nll[has] / d[has]).mean() if has.any() else logits.sum() * 0


LOSSES: dict[str, LossFn] = dict(
    zip(LOSS_NAMES, (cross_entropy, soft_dice, ce_dice, gce, sce, TLoss), strict=True)
)
ALIASES = LOSS_ALIASES
#: Keys under which a loss's learned parameters travel in a model state dict (the checkpoint).
LOSS_STATE_PREFIX = "loss."


def make_loss(config) -> LossFn:
    """The loss named by ``config.loss`` with its parameters (``gce_q``, ``sce_alpha``,
    ``sce_beta``, ``dice_weight``, ``tloss_nu``); the T-Loss is a module with a learned ``nu``."""
    name = ALIASES.get(config.loss, config.loss)
    if name not in LOSSES:
        raise NoisyFixError(
            f"unknown loss {config.loss!r}; choose from {sorted(LOSSES) + sorted(ALIASES)}"
        )
    if name == "tloss":
        return TLoss(config.tloss_nu)
    if name == "ce_dice":
        return lambda lg, t, w=None, ig=IGNORE: ce_dice(lg, t, w, ig, config.dice_weight)
    if name == "gce":
        return lambda lg, t, w=None, ig=IGNORE: gce(lg, t, w, ig, q=config.gce_q)
    if name == "sce":
        return lambda lg, t, w=None, ig=IGNORE: sce(
            lg, t, w, ig, alpha=config.sce_alpha, beta=config.sce_beta
        )
    return LOSSES[name]


def loss_state(loss_fn) -> dict[str, torch.Tensor]:
    """The learned parameters of a loss (the T-Loss's ``log_nu``) under :data:`LOSS_STATE_PREFIX`."""
    if not isinstance(loss_fn, torch.nn.Module):
        return {}
    return {
        LOSS_STATE_PREFIX + k: v.detach().cpu().clone() for k, v in loss_fn.state_dict().items()
    }


def split_state(state: dict) -> tuple[dict, dict]:
    """(network weights, loss parameters without the prefix) of a saved state dict."""
    net = {k: v for k, v in state.items() if not k.startswith(LOSS_STATE_PREFIX)}
    loss = {
        k[len(LOSS_STATE_PREFIX) :]: v for k, v in state.items() if k.startswith(LOSS_STATE_PREFIX)
    }
    return net, loss
