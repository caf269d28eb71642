"""Image-level label quality: how likely the whole mask of an image is wrong."""

from __future__ import annotations

import numpy as np

from .evidence import evidence_mass, image_factor
from .region import Region

#: Object-scope region kinds that count as evidence that the image's mask is wrong (image-scope
#: regions always count).
IMAGE_KINDS = ("missing", "spurious")
#: Temperature of the softmin over pixel label quality (as cleanlab's segmentation score).
SOFTMIN_TEMPERATURE = 0.1


def softmin_quality(p_given: np.ndarray, temperature: float = SOFTMIN_TEMPERATURE) -> float:
    """Softmin-weighted mean of the given-label probability (low when some pixels are very doubtful)."""
    p = np.asarray(p_given, dtype=np.float64).ravel()
    w = np.exp(-(p - p.min()) / temperature)
    return float((p * w).sum() / w.sum())


def image_error_score(
    regions: list[Region], given_mask: np.ndarray, model_mask: np.ndarray
) -> float:
    """Probability-like score (0..1) that the image's mask holds label errors.

    The mass (``area * score``) of whole-object errors (missing, spurious; weighted double) and of
    whole-mask errors (image-scope regions), relative to the foreground area of the given mask or the
    model's, whichever is larger, mapped through ``1 - exp(-k * mass)``: see
    :mod:`~napari_noisyfix.quality.evidence`. Per-object outline regions are left out: what is
    left of them once whole-mask errors are absorbed is mostly the model's own boundary noise,
    which every image has (with them, image AUROC on dsb2018 histology at alpha = 0.5 was 0.88;
    without, 0.92).
    """
    kept = [r for r in regions if r.kind in IMAGE_KINDS or r.scope == "image"]
    return image_factor(evidence_mass(kept, given_mask, model_mask))


def image_row(
    name: str,
    maps: dict[str, np.ndarray],
    regions: list[Region],
    given_mask: np.ndarray,
    model_mask: np.ndarray,
) -> dict:
    """One row of ``image_scores.csv``."""
    err = image_error_score(regions, given_mask, model_mask)
    return {
        "image": name,
        "quality": round(1.0 - err, 6),
        "error_score": round(err, 6),
        "softmin": round(softmin_quality(maps["p_given"]), 6),
        "n_regions": len(regions),
        "error_pixels": round(float(maps["error_score"].sum()), 2),
    }
