"""Augmentations applied identically to images, targets and weight maps, and MixUp with soft masks.

All functions work on batches of torch tensors: images (N, C, H, W), pixel maps (N, H, W) or
(N, C, H, W). Randomness comes from a ``numpy.random.Generator`` so runs are repeatable.
"""

from __future__ import annotations

import numpy as np
import torch


def dihedral(t: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
    """Rotate the last two axes by ``k`` quarter turns, then flip the last axis if ``flip``."""
    t = torch.rot90(t, k, dims=(-2, -1)) if k % 4 else t
    return torch.flip(t, dims=(-1,)) if flip else t


def undo_dihedral(t: torch.Tensor, k: int, flip: bool) -> torch.Tensor:
    """Inverse of :func:`dihedral`."""
    t = torch.flip(t, dims=(-1,)) if flip else t
    return torch.rot90(t, -k, dims=(-2, -1)) if k % 4 else t


def draw_dihedral(rng: np.random.Generator, flips: bool, rot90: bool, square: bool):
    """A random (k, flip) pair allowed by the switches (rotations only for square crops)."""
    k = int(rng.integers(4)) if rot90 and square else 0
    flip = bool(rng.integers(2)) if flips else False
    if flips and bool(rng.integers(2)):
        k = (k + 2) % 4  # a vertical flip is a horizontal flip after a half turn
    return k, flip


def draw_moves(rng: np.random.Generator, n: int, flips: bool, rot90: bool, square: bool):
    """One random (k, flip) pair of :func:`draw_dihedral` per sample of a batch of ``n``."""
    return [draw_dihedral(rng, flips, rot90, square) for _ in range(n)]


def move_each(t: torch.Tensor, moves) -> torch.Tensor:
    """Apply ``moves[i]`` (a (k, flip) pair) to sample ``i`` of the batch ``t``."""
    return torch.stack([dihedral(t[i], k, flip) for i, (k, flip) in enumerate(moves)])


def unmove_each(t: torch.Tensor, moves) -> torch.Tensor:
    """Inverse of :func:`move_each`: sample ``i`` mapped back by ``moves[i]``."""
    return torch.stack([undo_dihedral(t[i], k, flip) for i, (k, flip) in enumerate(moves)])


def augment_batch(
    rng: np.random.Generator, maps: list[torch.Tensor], flips: bool, rot90: bool
) -> list[torch.Tensor]:
    """Apply one random flip/rot90 per sample to every tensor of ``maps`` alike."""
    square = maps[0].shape[-1] == maps[0].shape[-2]
    moves = draw_moves(rng, maps[0].shape[0], flips, rot90, square)
    return [move_each(m, moves) for m in maps]


def intensity_jitter(rng: np.random.Generator, images: torch.Tensor, amount: float) -> torch.Tensor:
    """Per-sample random contrast and brightness on normalised images (``amount`` = amplitude)."""
    if amount <= 0:
        return images
    n = images.shape[0]
    gain = torch.as_tensor(1 + rng.uniform(-amount, amount, n), dtype=images.dtype)
    shift = torch.as_tensor(rng.uniform(-amount, amount, n), dtype=images.dtype)
    return images * gain.view(n, 1, 1, 1) + shift.view(n, 1, 1, 1)


def mixup(
    rng: np.random.Generator, maps: list[torch.Tensor], alpha: float
) -> tuple[list[torch.Tensor], float, torch.Tensor]:
    """MixUp (Zhang et al. 2018) of a batch with a shuffled copy of itself.

    Every tensor of ``maps`` (images, soft targets (N, C, H, W), weights...) is mixed with the
    same lambda and permutation; returns the mixed tensors, lambda and the permutation.
    Lambda is folded to >= 0.5 so the original sample dominates and its weight map still applies.
    """
    lam = float(rng.beta(alpha, alpha))
    lam = max(lam, 1 - lam)
    perm = torch.as_tensor(rng.permutation(maps[0].shape[0]))
    return [lam * t + (1 - lam) * t[perm] for t in maps], lam, perm
