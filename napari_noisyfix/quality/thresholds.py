"""Per-class confidence thresholds in the spirit of confident learning (Northcutt et al. 2021).

The threshold of class ``c`` is the mean probability the model gives to ``c`` over the pixels whose
given label is ``c``: the model's self-confidence on that class. A pixel counts as confidently
belonging to ``c`` when ``p_c >= t_c``, so rare or hard classes get lower bars and are not flagged
everywhere.
"""

from __future__ import annotations

import numpy as np

from ..errors import NoisyFixError
from .params import PARAMS


def check_probs(probs: np.ndarray, given_mask: np.ndarray, where: str = "image") -> None:
    """Raise :class:`NoisyFixError` unless ``probs`` is (C, H, W) and ``given_mask`` is (H, W) in 0..C-1."""
    if probs.ndim != 3 or probs.shape[0] < 2:
        raise NoisyFixError(f"{where}: probabilities of shape {probs.shape}, expected (C>=2, H, W)")
    if given_mask.shape != probs.shape[1:]:
        raise NoisyFixError(
            f"{where}: mask shape {given_mask.shape} does not match probabilities {probs.shape[1:]}"
        )
    if given_mask.size and (given_mask.min() < 0 or given_mask.max() >= probs.shape[0]):
        raise NoisyFixError(f"{where}: mask holds classes outside 0..{probs.shape[0] - 1}")


def class_sums(probs: np.ndarray, given_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per class ``c``: the sum of ``p_c`` over pixels labelled ``c``, and the count of those pixels.

    Sums from several images can be added and divided once, which gives dataset-level thresholds.
    """
    n = probs.shape[0]
    flat = given_mask.reshape(-1).astype(np.intp)
    counts = np.bincount(flat, minlength=n).astype(np.float64)
    own = np.take_along_axis(probs.reshape(n, -1), flat[None], axis=0)[0]
    sums = np.bincount(flat, weights=own.astype(np.float64), minlength=n)
    return sums, counts


def thresholds_from_sums(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Turn :func:`class_sums` totals into thresholds (default for empty classes)."""
    p = PARAMS.scoring
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(counts > 0, sums / np.maximum(counts, 1), p.default_threshold)
    return np.clip(t, p.min_threshold, 1.0).astype(np.float32)


def per_class_thresholds(
    probs: np.ndarray, given_mask: np.ndarray, override: dict[int, float] | None = None
) -> np.ndarray:
    """Thresholds ``t_c`` (float32, one per class) from one image, with optional overrides.

    Parameters
    ----------
    probs : ndarray
        Class probabilities (C, H, W).
    given_mask : ndarray
        Given labels (H, W).
    override : dict, optional
        ``{class: threshold}`` replacing the data-derived values.
    """
    check_probs(probs, given_mask)
    return apply_override(thresholds_from_sums(*class_sums(probs, given_mask)), override)


def dataset_thresholds(pairs, override: dict[int, float] | None = None) -> np.ndarray:
    """Thresholds pooled over an iterable of ``(probs, given_mask)`` pairs."""
    sums = counts = None
    for probs, mask in pairs:
        check_probs(probs, mask)
        s, c = class_sums(probs, mask)
        sums, counts = (s, c) if sums is None else (sums + s, counts + c)
    if sums is None:
        raise NoisyFixError("no images to derive class thresholds from")
    return apply_override(thresholds_from_sums(sums, counts), override)


def apply_override(thresholds: np.ndarray, override: dict[int, float] | None) -> np.ndarray:
    """Copy of ``thresholds`` with ``{class: value}`` overrides written in (values in (0, 1])."""
    out = np.array(thresholds, dtype=np.float32)
    for cls, value in (override or {}).items():
        if not 0 <= int(cls) < out.size:
            raise NoisyFixError(f"threshold override for class {cls}: no such class")
        if not 0 < float(value) <= 1:
            raise NoisyFixError(f"threshold override for class {cls}: {value} is not in (0, 1]")
        out[int(cls)] = float(value)
    return out
