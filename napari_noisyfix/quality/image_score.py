"""Image-level label quality: how likely the whole mask of an image is wrong."""

from __future__ import annotations

import numpy as np

from .region import Region

#: Temperature of the softmin over pixel label quality (as cleanlab's segmentation score).
SOFTMIN_TEMPERATURE = 0.1


def softmin_quality(p_given: np.ndarray, temperature: float = SOFTMIN_TEMPERATURE) -> float:
    """Softmin-weighted mean of the given-label probability (low when some pixels are very doubtful)."""
    p = np.asarray(p_given, dtype=np.float64).ravel()
    w = np.exp(-(p - p.min()) / temperature)
    return float((p * w).sum() / w.sum())


def region_evidence(regions: list[Region], shape: tuple[int, int]) -> float:
    """Share of the image's pixels (or of its objects' scale) covered by confident error regions.

    Each region counts ``area * score * prob_correct``; the total is divided by the square root of
    the image area so that a whole missing nucleus weighs as much in a large image as in a small one.
    """
    mass = sum(r.area * r.score * r.prob_correct for r in regions if r.kind != "outlier")
    return float(mass / np.sqrt(float(shape[0] * shape[1])))


def image_error_score(maps: dict[str, np.ndarray], regions: list[Region]) -> float:
    """Probability-like score (0..1) that the image's mask holds label errors."""
    shape = maps["p_given"].shape
    soft = 1.0 - softmin_quality(maps["p_given"])
    evidence = region_evidence(regions, shape)
    return float(1.0 - (1.0 - soft) * np.exp(-evidence))


def image_row(name: str, maps: dict[str, np.ndarray], regions: list[Region]) -> dict:
    """One row of ``image_scores.csv``."""
    err = image_error_score(maps, regions)
    return {
        "image": name,
        "quality": round(1.0 - err, 6),
        "error_score": round(err, 6),
        "softmin": round(softmin_quality(maps["p_given"]), 6),
        "n_regions": len(regions),
        "error_pixels": round(float(maps["error_score"].sum()), 2),
    }
