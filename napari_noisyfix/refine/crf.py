"""Fully connected CRF refinement by mean-field iterations (Krähenbühl & Koltun, 2011).

Written here with numpy/scipy because no maintained library offers it: pydensecrf is unmaintained
and does not build on this Python. The model is DenseCRF's: unary ``-log P`` from the network's
probabilities, a Potts pairwise term with an appearance kernel
``w_app * exp(-|p_i - p_j|^2 / 2 theta_xy^2 - |I_i - I_j|^2 / 2 theta_val^2)`` and a smoothness
kernel ``w_smooth * exp(-|p_i - p_j|^2 / 2 theta_smooth^2)``, over all pixel pairs.

Approximation (instead of the permutohedral lattice): the appearance kernel is a bilateral filter
computed on a **bilateral grid** (Chen, Paris & Durand, 2007): pixels are splatted to the nearest
cell of a grid over (row, col, intensity or the principal colour axes) with one cell per kernel sigma, the grid is
blurred with a unit Gaussian (scipy.ndimage.gaussian_filter) and read back by multilinear
interpolation (scipy.ndimage.map_coordinates). The smoothness kernel is a plain separable Gaussian
blur. Both messages are normalised (a weighted average of the neighbours' beliefs, in [0, 1]),
as DenseCRF's default normalisation does, so the weights read as log-odds per unit of agreement,
and the pixel itself is not excluded from its own message.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .registry import Param, register

EPS = 1e-6


class BilateralGrid:
    """Normalised Gaussian filter in a feature space, on a grid with one cell per unit.

    Parameters
    ----------
    features : ndarray
        (N, D) pixel features already divided by their kernel sigmas.
    """

    def __init__(self, features: np.ndarray):
        coords = features - features.min(axis=0) + 2.0
        cells = np.rint(coords).astype(np.int64)
        self.shape = tuple(int(s) for s in cells.max(axis=0) + 3)
        self.flat = np.ravel_multi_index(cells.T, self.shape)
        self.coords = coords.T
        self.norm = np.maximum(self._blur(np.ones(len(features))), EPS)

    def _blur(self, values: np.ndarray) -> np.ndarray:
        size = int(np.prod(self.shape))
        grid = np.bincount(self.flat, weights=values, minlength=size).reshape(self.shape)
        grid = ndi.gaussian_filter(grid, 1.0, truncate=2.0, mode="constant")
        return ndi.map_coordinates(grid, self.coords, order=1, mode="nearest")

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Weighted average of ``values`` (N,) over each pixel's kernel neighbourhood."""
        return self._blur(values) / self.norm


def appearance_features(image: np.ndarray, theta_xy: float, theta_val: float) -> np.ndarray:
    """(H*W, 2 + channels) features: position / theta_xy and intensity or colour / theta_val."""
    h, w = image.shape[:2]
    rows, cols = np.mgrid[:h, :w].astype(np.float64)
    vals = colour_axes(image.reshape(h * w, -1).astype(np.float64), theta_val)
    pos = np.column_stack([rows.ravel(), cols.ravel()]) / theta_xy
    return np.hstack([pos, vals / theta_val])


def colour_axes(vals: np.ndarray, theta_val: float) -> np.ndarray:
    """Project colours onto their principal axes, dropping axes with spread below theta_val / 4.

    Distances along a dropped axis change the kernel by less than 3 %, and every dropped axis
    shrinks the bilateral grid about tenfold (real stains and fluorescence vary along one or two
    colour directions).
    """
    if vals.shape[1] == 1:
        return vals
    centred = vals - vals.mean(axis=0)
    _, sing, axes = np.linalg.svd(centred[:: max(1, len(vals) // 4096)], full_matrices=False)
    spread = centred @ axes.T
    keep = spread.std(axis=0) >= theta_val / 4
    keep[0] = True
    return spread[:, keep]


def unary_from_mask(labels: np.ndarray, n_classes: int, confidence: float) -> np.ndarray:
    """(C, H, W) probabilities that trust the given labels with ``confidence``."""
    other = (1.0 - confidence) / (n_classes - 1)
    probs = np.full((n_classes, *labels.shape), other, dtype=np.float32)
    np.put_along_axis(probs, labels[None], confidence, axis=0)
    return probs


def dense_crf(
    image: np.ndarray,
    probs: np.ndarray,
    n_iter: int = 5,
    w_app: float = 4.0,
    theta_xy: float = 8.0,
    theta_val: float = 0.1,
    w_smooth: float = 1.0,
    theta_smooth: float = 1.5,
) -> np.ndarray:
    """Mean-field inference of the dense CRF; returns the (C, H, W) marginals ``Q``.

    Parameters
    ----------
    image : ndarray
        (H, W) or (H, W, 3) float image in [0, 1].
    probs : ndarray
        (C, H, W) class probabilities (the unary term is ``-log probs``).
    n_iter : int
        Mean-field iterations.
    w_app, theta_xy, theta_val : float
        Appearance kernel weight, spatial sigma (px) and intensity sigma (fraction of the range).
    w_smooth, theta_smooth : float
        Smoothness kernel weight and spatial sigma (px).
    """
    n_classes, h, w = probs.shape
    logp = np.log(np.clip(probs.reshape(n_classes, -1), EPS, None)).astype(np.float64)
    grid = BilateralGrid(appearance_features(image, theta_xy, theta_val))
    q = _softmax(logp)
    for _ in range(n_iter):
        app = _messages(q, grid)
        smooth = _messages(q, lambda v: ndi.gaussian_filter(v.reshape(h, w), theta_smooth).ravel())
        q = _softmax(logp + w_app * app + w_smooth * smooth)
    return q.reshape(n_classes, h, w).astype(np.float32)


def _messages(q: np.ndarray, filt) -> np.ndarray:
    """Normalised filter of each class belief; the last class is 1 minus the others."""
    out = np.empty_like(q)
    out[:-1] = [filt(row) for row in q[:-1]]
    out[-1] = 1.0 - out[:-1].sum(axis=0)
    return out


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=0, keepdims=True))
    return z / z.sum(axis=0, keepdims=True)


@register(
    "crf",
    "refine",
    [
        Param("n_iter", int, 5, 1, 50, "mean-field iterations"),
        Param("w_app", float, 4.0, 0.0, 100.0, "appearance (bilateral) kernel weight"),
        Param("theta_xy", float, 8.0, 0.5, 500.0, "appearance kernel spatial sigma (px)"),
        Param("theta_val", float, 0.1, 0.005, 10.0, "appearance kernel intensity sigma (range)"),
        Param("w_smooth", float, 1.0, 0.0, 100.0, "smoothness (Gaussian) kernel weight"),
        Param("theta_smooth", float, 1.5, 0.1, 50.0, "smoothness kernel spatial sigma (px)"),
        Param("confidence", float, 0.8, 0.5, 0.999, "trust in the mask when no probs are given"),
    ],
    multiclass=True,
    uses_probs=True,
)
def _crf_tool(image, labels, probs, confidence, **kernel):
    """Dense CRF: mean-field with bilateral appearance and Gaussian smoothness kernels."""
    if probs is None:
        probs = unary_from_mask(labels, max(2, int(labels.max()) + 1), confidence)
    return dense_crf(image, probs, **kernel).argmax(axis=0)
