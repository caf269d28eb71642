"""Per-pixel quality maps from class probabilities (and optional TTA / MC-dropout samples)."""

from __future__ import annotations

import numpy as np

from ..errors import NoisyFixError
from .evidence import error_probability, smoothed_pixel_error
from .thresholds import check_probs, per_class_thresholds

_EPS = 1e-7


def compute_maps(
    probs: np.ndarray,
    given_mask: np.ndarray,
    samples: np.ndarray | None = None,
    thresholds: np.ndarray | None = None,
    name: str = "image",
    regions: list | None = None,
) -> dict[str, np.ndarray]:
    """Confidence, uncertainty and label-quality maps of one image (float32, H x W each).

    Parameters
    ----------
    probs : ndarray
        Class probabilities (C, H, W), summing to 1 over C.
    given_mask : ndarray
        The given labels (H, W), class ids 0..C-1.
    samples : ndarray, optional
        Probability samples (S, C, H, W) from TTA or MC dropout.
    thresholds : ndarray, optional
        Per-class thresholds (C,); derived from this image when omitted.
    name : str
        Image name for error messages.
    regions : list of Region, optional
        The image's error regions when already found (they feed the error score's image evidence).

    Returns
    -------
    dict
        ``confidence`` (max probability), ``entropy`` (normalised to 0..1), ``margin`` (top-1 minus
        top-2), ``p_given`` (probability of the given label), ``label_quality`` (``p_given / t_given``
        clipped to 0..1: 1 means as sure as the model usually is about that class), ``pixel_error``
        (the class-calibrated probability that the given label is wrong, lightly smoothed),
        ``error_score`` (that probability sharpened by spatial evidence: see
        :mod:`~napari_noisyfix.quality.evidence`; scoring a project replaces it with the
        project-calibrated map), and with samples
        ``variance`` (mean over classes of the sample variance) and ``mutual_information``.
    """
    probs = np.asarray(probs, dtype=np.float32)
    given_mask = np.asarray(given_mask)
    check_probs(probs, given_mask, name)
    if thresholds is None:
        thresholds = per_class_thresholds(probs, given_mask)
    thresholds = np.asarray(thresholds, dtype=np.float32)
    top2 = np.sort(probs, axis=0)[-2:]
    p_given = np.take_along_axis(probs, given_mask[None].astype(np.intp), 0)[0]
    maps = {
        "confidence": top2[1],
        "margin": top2[1] - top2[0],
        "entropy": entropy(probs),
        "p_given": p_given,
        "label_quality": np.clip(p_given / thresholds[given_mask], 0.0, 1.0),
    }
    maps["pixel_error"] = smoothed_pixel_error(probs, given_mask, thresholds)
    maps["error_score"] = error_probability(
        probs, given_mask, thresholds, regions, pix=maps["pixel_error"]
    )
    if samples is not None:
        maps.update(sample_maps(np.asarray(samples, dtype=np.float32), probs.shape, name))
    return {k: v.astype(np.float32) for k, v in maps.items()}


def entropy(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy over the class axis (axis 0 or 1 for samples), normalised by log C."""
    axis = probs.ndim - 3
    h = -(probs * np.log(np.clip(probs, _EPS, 1.0))).sum(axis=axis)
    return h / np.log(probs.shape[axis])


def sample_maps(samples: np.ndarray, shape: tuple, name: str = "image") -> dict[str, np.ndarray]:
    """``variance`` and ``mutual_information`` (BALD) from (S, C, H, W) probability samples."""
    if samples.ndim != 4 or samples.shape[1:] != tuple(shape) or samples.shape[0] < 1:
        raise NoisyFixError(f"{name}: samples of shape {samples.shape}, expected (S, *{shape})")
    mean = samples.mean(axis=0)
    mi = entropy(mean) - entropy(samples).mean(axis=0)
    return {
        "variance": samples.var(axis=0).mean(axis=0),
        "mutual_information": np.clip(mi, 0, None),
    }
