"""Training examples for the per-project calibration: errors planted in the project's own masks.

A calibration image is one of the project's masks that looks right (the least suspicious ones
under the uncalibrated score). It is analysed as it is, and again in copies, each with one
error of a random type planted (:mod:`~napari_noisyfix.quality.planting`), always under the
image's own out-of-fold probabilities. Every region the finder proposes on a copy is then labelled
against the untouched mask: is it an error (most of its pixels are wrong), and does accepting its
proposal bring the copy closer to the untouched mask. Regions found on the untouched mask, and on
the copies away from the planted error, are the model's own disagreement: the examples of what is
not an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..evaluate import dice
from ..instance_labels import apply_region, misassigned, semantic, wrong_pixels
from ..synth.instance_noise import MIN_PIECE
from .analysis import Analysis, analyse
from .features import REGION_FEATURES
from .params import PARAMS, CalibrationParams
from .planting import plant, plant_instances
from .region import INSTANCE_KINDS

_CLIP = 1e-4
#: The smallest piece a planted split leaves (:data:`~napari_noisyfix.synth.instance_noise.MIN_PIECE`).
INSTANCE_WRONG_SHARE = MIN_PIECE


@dataclass
class Sample:
    """One analysed mask of the calibration: an untouched mask or a copy with a planted error.

    Attributes
    ----------
    image : str
        The project image it comes from.
    group : int
        Cross-fitting group (its patient).
    planted : str
        The planted error's type; ``""`` for the untouched mask.
    true_dice : float
        Dice of the analysed mask against the untouched one (1 for the untouched mask).
    X : ndarray
        (n, F) evidence of its regions (:data:`~napari_noisyfix.quality.features.REGION_FEATURES`).
    is_error, helps : ndarray
        (n,) bool labels of the regions: mostly wrong pixels; the proposal lowers the wrong pixels.
    raw : dict
        Raw image features (:func:`~napari_noisyfix.quality.features.image_raw_features`).
    pix_X : ndarray
        (m, 2) sampled pixels: logits of the smoothed pixel error and of the uncalibrated map.
    pix_y, pix_w : ndarray
        (m,) whether each sampled pixel is wrong, and its sampling weight.
    cover : list of ndarray
        Per region, the indices of the sampled pixels it covers.
    trusted : bool
        Its image is in the clean subset (the calibration never sets its mask aside).
    """

    image: str
    group: int
    planted: str
    true_dice: float
    X: np.ndarray
    is_error: np.ndarray
    helps: np.ndarray
    raw: dict
    pix_X: np.ndarray
    pix_y: np.ndarray
    pix_w: np.ndarray
    cover: list
    trusted: bool = False


def image_samples(
    name: str,
    group: int,
    probs: np.ndarray,
    mask: np.ndarray,
    calibration,
    rng: np.random.Generator,
    n_plants: int,
    image: np.ndarray | None = None,
    params: CalibrationParams = PARAMS.calibration,
    analysis: Analysis | None = None,
    instances: np.ndarray | None = None,
) -> list[Sample]:
    """The untouched mask of one calibration image and ``n_plants`` copies with planted errors.

    Parameters
    ----------
    name : str
        Image name.
    group : int
        Its cross-fitting group.
    probs : ndarray
        Its out-of-fold class probabilities (C, H, W).
    mask : ndarray
        Its given mask, taken as right.
    calibration : tuple
        Class thresholds and foreground shift of the project.
    rng : numpy.random.Generator
        Draws the planted errors and the pixel samples.
    n_plants : int
        Copies with one planted error each (a copy whose plant changes nothing is left out).
    image : ndarray, optional
        The image.
    params : CalibrationParams
        The planted errors' sizes and resolutions, and the pixels sampled per analysed mask.
    analysis : Analysis, optional
        The untouched mask's analysis when already done (the project's own scoring pass).
    instances : ndarray, optional
        An instance project's object ids (``mask`` is their union): merges and splits are
        planted too (:func:`~napari_noisyfix.quality.planting.plant_instances`), and a pixel is
        wrong when its class or its object is (:func:`~napari_noisyfix.instance_labels.misassigned`).
    """
    mask = np.asarray(mask)
    base = analysis or analyse(name, probs, mask, calibration, image, instances=instances)
    out = [_sample(name, group, "", mask, mask, base, rng, params)]
    for _ in range(n_plants):
        if instances is None:
            (planted, kind), ids = plant(mask, rng, params), None
        else:
            ids, kind = plant_instances(instances, rng, params)
            planted = semantic(ids)
        if kind is None:
            continue
        found = analyse(name, probs, planted, calibration, image, instances=ids)
        pair = None if ids is None else (ids, instances)
        out.append(_sample(name, group, kind, planted, mask, found, rng, params, pair))
    return out


def _sample(name, group, kind, labels, truth, found: Analysis, rng, params, ids=None) -> Sample:
    wrong = labels != truth
    if ids is not None:
        wrong |= misassigned(*ids)
    regions = found.regions
    is_error = np.array([_is_error(r, wrong) for r in regions], bool)
    helps = np.array(
        [_helps(r, labels, truth) if ids is None else _helps_ids(r, *ids) for r in regions], bool
    )
    X = np.array([r.features for r in regions], np.float32).reshape(-1, len(REGION_FEATURES))
    pix_X, pix_y, pix_w, index = _pixel_sample(found, wrong, regions, rng, params)
    cover = [_covered(r, index, labels.shape) for r in regions]
    true_dice = 1.0 if not wrong.any() else dice(labels > 0, truth > 0, cls=True)
    return Sample(
        name, group, kind, true_dice, X, is_error, helps, found.raw, pix_X, pix_y, pix_w, cover
    )


def _is_error(region, wrong: np.ndarray) -> bool:
    """Whether most of the region's pixels are wrong. A merge or split region spans the right
    object as well as the wrong one, and which of two equal objects counts as wrong is arbitrary:
    it is an error when :data:`INSTANCE_WRONG_SHARE` of its pixels are."""
    share = INSTANCE_WRONG_SHARE if region.kind in INSTANCE_KINDS else 0.5
    return bool(wrong[region.slices][region.region].mean() >= share)


def _helps(region, labels: np.ndarray, truth: np.ndarray) -> bool:
    """Whether accepting the region's proposal lowers the wrong pixels of ``labels``."""
    sl, pixels = region.slices, region.region
    before = np.count_nonzero(labels[sl][pixels] != truth[sl][pixels])
    after = np.count_nonzero(region.labels[pixels] != truth[sl][pixels])
    return after < before


def _helps_ids(region, ids: np.ndarray, truth: np.ndarray) -> bool:
    """Whether accepting the region's proposal lowers the pixels of ``ids`` whose class or
    object is wrong against the true ids ``truth``."""

    after = np.count_nonzero(wrong_pixels(apply_region(region, ids), truth))
    return after < np.count_nonzero(wrong_pixels(ids, truth))


def _pixel_sample(found: Analysis, wrong, regions, rng, params: CalibrationParams):
    """Sampled pixels (flat indices) with their two logit features, labels and weights: every
    wrong, doubtful or flagged pixel (subsampled to ``params.pixels_per_image``), and a quarter
    of that many others."""
    cap = params.pixels_per_image
    flagged = np.zeros(wrong.shape, bool)
    for r in regions:
        flagged[r.slices] |= r.region
    doubtful = found.maps["error_raw"] >= params.pixel_candidate
    candidate = (wrong | flagged | doubtful).ravel()
    picks, weights = [], []
    for pool, share in ((np.flatnonzero(candidate), 1.0), (np.flatnonzero(~candidate), 0.25)):
        k = min(pool.size, int(cap * share))
        if k:
            picks.append(rng.choice(pool, size=k, replace=False))
            weights.append(np.full(k, pool.size / k, np.float32))
    index = np.sort(np.concatenate(picks)) if picks else np.zeros(0, np.intp)
    order = np.argsort(np.concatenate(picks)) if picks else index
    w = np.concatenate(weights)[order] if weights else np.zeros(0, np.float32)
    feats = np.stack(
        [_logit(found.maps[k].ravel()[index]) for k in ("pixel_error", "error_raw")], 1
    )
    return feats.astype(np.float32), wrong.ravel()[index], w, index


def _covered(region, index: np.ndarray, shape) -> np.ndarray:
    """Positions in the sorted flat pixel ``index`` that lie in ``region``."""
    rows, cols = np.nonzero(region.region)
    flat = (rows + region.bbox[0]) * shape[1] + cols + region.bbox[1]
    pos = np.searchsorted(index, flat)
    pos = np.clip(pos, 0, max(index.size - 1, 0))
    return pos[index[pos] == flat] if index.size else pos[:0]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float32), _CLIP, 1.0 - _CLIP)
    return np.log(p) - np.log1p(-p)
