"""One image under one model: its candidate regions, its maps and its raw image evidence.

The same analysis runs on the project's given masks and, during calibration, on copies of them
with planted errors, so the calibration learns from exactly the evidence the queue is built on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .features import ImageStats, image_raw_features
from .image_score import image_error_score
from .maps import compute_maps
from .region import Region
from .regions import find_regions, model_labels


@dataclass
class Analysis:
    """What one image's scoring finds.

    Attributes
    ----------
    regions : list of Region
        Candidate errors with their evidence rows (uncalibrated values).
    maps : dict
        Per-pixel maps (:func:`~napari_noisyfix.quality.maps.compute_maps`); ``error_raw`` is
        the uncalibrated error map, kept for the calibration.
    raw : dict
        Image features that need no calibration
        (:func:`~napari_noisyfix.quality.features.image_raw_features`).
    stats : ImageStats
        The image's shared statistics.
    """

    regions: list[Region]
    maps: dict[str, np.ndarray]
    raw: dict[str, float]
    stats: ImageStats


def analyse(
    name: str,
    probs: np.ndarray,
    mask: np.ndarray,
    calibration: tuple[np.ndarray, float],
    image: np.ndarray | None = None,
    samples: np.ndarray | None = None,
    instances: np.ndarray | None = None,
) -> Analysis:
    """Regions, maps and raw image evidence of ``mask`` under ``probs``.

    Parameters
    ----------
    name : str
        Image name (region ids, error messages).
    probs : ndarray
        Class probabilities (C, H, W).
    mask : ndarray
        The labels judged (H, W).
    calibration : tuple
        The project's class thresholds and foreground shift.
    image : ndarray, optional
        The image (colour evidence).
    samples : ndarray, optional
        TTA / MC-dropout probability samples (S, C, H, W).
    instances : ndarray, optional
        An instance project's object ids (``mask`` is their union).
    """
    thresholds, shift = calibration
    model = model_labels(probs, np.asarray(thresholds, np.float32))
    stats = ImageStats(mask, model, image)
    regions = find_regions(
        name,
        probs,
        mask,
        thresholds=thresholds,
        image=image,
        fg_shift=shift,
        stats=stats,
        instances=instances,
    )
    maps = compute_maps(probs, mask, samples, thresholds=thresholds, name=name, regions=regions)
    maps["error_raw"] = maps["error_score"]
    noisy_or = image_error_score(regions, mask, model > 0)
    raw = image_raw_features(noisy_or, maps["p_given"], stats)
    return Analysis(regions, maps, raw, stats)
