"""Per-image loss and Dice of a network against the given masks (validation, curriculum)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .data import Sample
from .device import autocast
from .losses import IGNORE
from .tiling import sliding_window


def foreground_dice(pred: torch.Tensor, mask: torch.Tensor, n_classes: int) -> float:
    """Mean Dice over classes 1..C-1 of two label maps; a class absent from both counts as 1."""
    valid = mask != IGNORE
    scores = []
    for c in range(1, n_classes):
        p, m = (pred == c) & valid, (mask == c) & valid
        total = int(p.sum() + m.sum())
        scores.append(1.0 if total == 0 else 2.0 * float((p & m).sum()) / total)
    return float(np.mean(scores)) if scores else 1.0


@torch.no_grad()
def image_logits(model, image: torch.Tensor, tile, device, amp: bool) -> torch.Tensor:
    """Logits (C, H, W) of one normalised image, tiled when larger than ``tile``."""

    def forward(x):
        with autocast(device, amp):
            return (model(x).float(),)

    return sliding_window(forward, image[None].to(device), tile)[0][0]


def score_samples(model, samples: list[Sample], tile, device, amp: bool):
    """Per-image cross-entropy (unweighted, given masks) and foreground Dice, in eval mode.

    Returns two float arrays aligned with ``samples``; the model's mode is restored.
    """
    was_training = model.training
    model.eval()
    losses, dices = [], []
    try:
        for s in samples:
            logits = image_logits(model, s.image, tile, device, amp)
            mask = s.mask.to(device)
            losses.append(float(F.cross_entropy(logits[None], mask[None], ignore_index=IGNORE)))
            dices.append(foreground_dice(logits.argmax(0), mask, logits.shape[0]))
    finally:
        model.train(was_training)
    return np.array(losses), np.array(dices)
