"""Mask R-CNN training: per-object boxes and binary masks from instance label crops, one step.

A batch is random crops of the instance project's working object ids, flipped and turned as
the U-Net's are (:func:`~.augment.augment_batch`); every id present in a crop is one target
object (its box and mask, class 1), and a crop without objects is a valid all-background
target. torchvision computes the losses (RPN, box head, the mask branch's per-class sigmoid
BCE). The U-Net's pixel weights have no place in these losses: crops whose pixels all weigh 0
(padding only, or an image given weight 0) are left out of the step, every other crop counts
in full, and the noise-robust pixel strategies (filtering, pseudo-labels, MixUp, consistency)
do not run (:func:`~.maskrcnn.maskrcnn_config`).
"""

from __future__ import annotations

import numpy as np
import torch

from .augment import augment_batch, intensity_jitter
from .data import Sample, crop_window, pad_to
from .device import autocast
from .steps import StepContext, batch_dice, optimise


def instance_targets(ids: torch.Tensor) -> dict[str, torch.Tensor]:
    """torchvision's target of one (H, W) id crop: ``boxes`` (K, 4) x1 y1 x2 y2 enclosing
    each object's pixels, ``labels`` (K,) all 1, ``masks`` (K, H, W) uint8; K may be 0."""
    numbers = torch.unique(ids)
    numbers = numbers[numbers > 0]
    masks = ids[None] == numbers[:, None, None]
    rows, cols = masks.any(dim=2), masks.any(dim=1)
    h, w = ids.shape

    def span(hit: torch.Tensor, n: int):
        first = hit.int().argmax(dim=1)
        last = n - 1 - hit.flip(dims=(1,)).int().argmax(dim=1)
        return first, last + 1

    y1, y2 = span(rows, h)
    x1, x2 = span(cols, w)
    boxes = torch.stack([x1, y1, x2, y2], dim=1).float().reshape(-1, 4)
    labels = torch.ones(len(numbers), dtype=torch.int64)
    return {"boxes": boxes, "labels": labels, "masks": masks.to(torch.uint8)}


def grid_ids(side: int, cells: int = 8) -> torch.Tensor:
    """(side, side) ids: a square object on every other cell of a ``cells`` x ``cells`` grid
    (a stand-in for crowded nuclei when a step is timed, :mod:`.budget`)."""
    cell = torch.arange(side) * cells // side
    index = cell[:, None] * cells + cell[None, :] + 1
    return torch.where((cell[:, None] + cell[None, :]) % 2 == 0, index, 0)


def instance_batch(rng: np.random.Generator, samples: list[Sample], indices, size):
    """Random crops of ``samples[indices]`` (padded where smaller): images (N, C, H, W), object
    ids (N, H, W), weights (N, H, W)."""
    images, ids, weights = [], [], []
    for i in indices:
        s = samples[i]
        window = crop_window(rng, tuple(s.ids.shape), size)
        images.append(pad_to(s.image[(slice(None), *window)], *size, 0.0))
        ids.append(pad_to(s.ids[window], *size, 0))
        weights.append(pad_to(s.weight[window], *size, 0.0))
    return torch.stack(images), torch.stack(ids), torch.stack(weights)


def maskrcnn_step(ctx: StepContext, batch, rng: np.random.Generator, strategies_on: bool) -> dict:
    """One optimiser step of a :class:`~.maskrcnn.MaskRCNNNet` on instance crops; returns the
    summed torchvision ``loss``, the batch's foreground ``dice`` (of its detections, in eval
    mode, after the step) and ``filtered`` (always 0: no pixel is filtered)."""
    indices, samples, size = batch
    images, ids, weights = instance_batch(rng, samples, indices, size)
    cfg = ctx.config
    images, ids, weights = augment_batch(
        rng, [images, ids, weights], cfg.augment_flips, cfg.augment_rot90
    )
    images = intensity_jitter(rng, images, cfg.augment_intensity)
    counted = (weights.flatten(1) > 0).any(dim=1)
    if not counted.any():
        return {"loss": 0.0, "dice": 1.0, "filtered": 0.0}
    images, ids, weights = images[counted], ids[counted], weights[counted]
    targets = [{k: v.to(ctx.device) for k, v in instance_targets(i).items()} for i in ids]
    images = images.to(ctx.device)
    with autocast(ctx.device, ctx.amp):
        loss = sum(ctx.model.losses(images, targets).values())
    optimise(ctx, loss)
    with torch.no_grad():
        probs = torch.exp(ctx.model(images).float())
    soft = torch.stack([ids == 0, ids > 0], dim=1).float().to(ctx.device)
    return {
        "loss": float(loss.detach()),
        "dice": batch_dice(probs, soft, weights.to(ctx.device)),
        "filtered": 0.0,
    }
