"""Thin structures of a label map (membranes, vessels, outlines, tiny objects), kept out of filtering.

A confidence filter down-weights pixels where the model confidently gives another class than the
label. On a thin structure that is exactly where a model that has not yet learnt it disagrees: a
membrane a few pixels wide is "low confidence" everywhere, and filtering it teaches the model to
drop it. So every pixel of a labelled region whose local thickness is at most ``2 * half_width + 1``
pixels, and a ``margin`` of pixels around it, is protected: its label keeps its full weight
whatever the model says. The local thickness is read from the Euclidean distance transform of
each class: a pixel is thin when the deepest point of its class within ``2 * half_width + 2``
pixels lies at most ``half_width + 1`` pixels from the class's border (a membrane 5 px wide has
its deepest point 3 px in; the border pixels of a wide object see deeper points nearby).
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import ndimage as ndi

#: Structures up to 2 * 2 + 1 = 5 px wide (at the training resolution) are protected.
HALF_WIDTH = 2
MARGIN = 1


def thin_structures(
    mask: np.ndarray, n_classes: int, half_width: int = HALF_WIDTH, margin: int = MARGIN
) -> np.ndarray:
    """Boolean map of the thin parts of every class of an (H, W) label map, grown by ``margin``.

    Pixels of no class (an ignore value) are never thin themselves.
    """
    mask = np.asarray(mask)
    thin = np.zeros(mask.shape, dtype=bool)
    window = 2 * (2 * half_width + 2) + 1
    for c in range(n_classes):
        region = mask == c
        if not region.any() or region.all():
            continue
        depth = ndi.distance_transform_edt(region)
        deepest = ndi.maximum_filter(depth, size=window)
        thin |= region & (deepest <= half_width + 1)
    if margin > 0 and thin.any():
        thin = ndi.binary_dilation(thin, iterations=margin)
    return thin


def thin_batch(masks: torch.Tensor, n_classes: int) -> torch.Tensor:
    """:func:`thin_structures` of each (H, W) map of an (N, H, W) integer tensor (CPU)."""
    maps = [thin_structures(m.numpy(), n_classes) for m in masks.cpu()]
    return torch.from_numpy(np.stack(maps)) if maps else torch.zeros_like(masks, dtype=torch.bool)
