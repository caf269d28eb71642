"""Features of candidate error regions and of whole masks: the evidence the calibration weighs.

Every region the finder proposes (:mod:`~napari_noisyfix.quality.regions`) gets one row of
:data:`REGION_FEATURES`, every image one row of :data:`IMAGE_FEATURES`. Neither decides anything:
the per-project calibration (:mod:`~napari_noisyfix.quality.calibration`) learns from errors
planted in the project's own masks how much each piece of evidence is worth.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..evaluate import dice
from .evidence import median_object_area
from .image_score import softmin_quality
from .region import INSTANCE_KINDS, Region

OBJECT_REGION_KINDS = (
    "missing",
    "spurious",
    "too_wide",
    "too_narrow",
    "shifted",
    "merged",
    "split",
)
REGION_FEATURES = (
    *(f"kind_{k}" for k in OBJECT_REGION_KINDS),
    "whole_mask",
    "doubt",  # 1 - mean model probability of the given labels over the region
    "model_belief",  # mean model probability of the proposed labels (a fit's weight for a whole mask)
    "confident_share",  # share of the region where the model's label passes its confidence bar
    "log_area",
    "log_area_rel",  # area over the median object area (the model's objects, else the mask's)
    "dice_change",  # 1 - Dice(mask, mask with the proposal applied)
    "thickness",  # largest distance from the region's edge into it (px)
    "outline_share",  # share of the region within one pixel of a given outline
    "enclosed",  # share of the pixels around the region that are labelled (1 for a hole)
    "colour_to_own",  # colour distance (sd units) of the region to the pixels labelled its class
    "colour_to_background",  # the same to the pixels labelled background
    "colour_vote",  # share of the changed pixels whose colour fits the proposed class better
    "image_evidence",  # the image's coherent disagreement with the model (0..1)
    "model_dice",  # Dice of the model's labels against the given mask of the image
    "log_n_regions",
)
#: Column of each evidence name in a region's ``features``.
FEATURE_INDEX = {name: i for i, name in enumerate(REGION_FEATURES)}
IMAGE_FEATURES = (
    "noisy_or",  # the uncalibrated image score (whole-mask weights and whole-object errors)
    "softmin",  # softmin of the given-label probability (cleanlab's image score)
    "model_dice",
    "log_fg_ratio",  # log of model foreground area over labelled foreground area
    "log_object_ratio",  # log of (model objects + 1) / (labelled objects + 1)
    "log_fg_share",  # log of the labelled foreground share of the image
    "outline_doubt",  # mean doubt about the given labels along the given outlines
    "doubt_mass",  # summed doubt about the given labels over the labelled area
    "outline_distance",  # mean distance (px) between the given and the model's outlines, both ways
    "log_perimeter_ratio",  # log of the given outline's length over the model's
    "max_error",  # largest calibrated P(error) of the image's regions
    "expected_loss",  # sum over regions of P(error) x Dice change, capped at 1
    "best_gain",  # largest P(fix helps) x Dice change
    "whole_mask_weight",  # weight of the image's whole-mask fit (0 without one)
)
#: Image features that are probabilities or shares in [0, 1]: the image model sees their logits.
PROBABILITY_FEATURES = (
    "noisy_or",
    "outline_doubt",
    "softmin",
    "model_dice",
    "max_error",
    "expected_loss",
    "best_gain",
    "whole_mask_weight",
)
_EPS = 1e-6
_CLIP = 1e-4


def dice_change(region: Region, mask: np.ndarray) -> float:
    """``1 - Dice(mask, mask with the proposal applied)`` on the foreground (0 when it changes
    nothing, 1 when it fills an empty mask or empties a full one). A merge or split leaves the
    union as it is: its change is the share of the foreground that changes object (the pieces
    after the first, numbered 2, 3, ...)."""
    if region.kind in INSTANCE_KINDS:
        moved = int(np.count_nonzero(region.region & (region.proposal > 1)))
        return min(1.0, moved / max(int(np.count_nonzero(np.asarray(mask) > 0)), 1))
    window = np.asarray(mask)[region.slices] > 0
    new = region.labels > 0
    added = int(np.count_nonzero(region.region & new & ~window))
    removed = int(np.count_nonzero(region.region & window & ~new))
    fg = int(np.count_nonzero(np.asarray(mask) > 0))
    denom = 2 * fg + added - removed
    return 0.0 if denom <= 0 else 1.0 - 2.0 * (fg - removed) / denom


class ImageStats:
    """Per-image quantities several region features share."""

    def __init__(self, given, model_labels, image=None):
        self.given = np.asarray(given)
        self.fg, self.model_fg = self.given > 0, np.asarray(model_labels) > 0
        self.outline = self.fg ^ ndi.binary_erosion(self.fg)
        self.outline |= ndi.binary_dilation(self.fg) & ~self.fg
        # the model's objects set the scale: noise can break the mask's objects into pieces
        self.unit = median_object_area(self.model_fg) or median_object_area(self.fg) or 1.0
        self.model_dice = dice(self.model_fg, self.fg, cls=True)
        self.image = None if image is None else _channels(np.asarray(image, dtype=np.float32))
        self._colour: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}

    def colour(self, cls: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Mean and spread per channel of the image over the pixels labelled ``cls``."""
        if cls not in self._colour:
            ref = None if self.image is None else self.image[self.given == cls]
            ok = ref is not None and len(ref) >= 2
            self._colour[cls] = (ref.mean(0), ref.std(0) + _EPS) if ok else None
        return self._colour[cls]

    def colour_distance(self, region: Region, cls: int) -> float:
        """RMS over channels of the region's mean colour from class ``cls`` in its sd units."""
        ref = self.colour(cls)
        if ref is None:
            return 0.0
        mean = self.image[region.slices][region.region].mean(0)
        return float(np.sqrt(np.mean(((mean - ref[0]) / ref[1]) ** 2)))

    def colour_vote(self, region: Region, proposed: np.ndarray) -> float:
        """Share of the pixels the region's proposal changes whose colour is more likely under
        the proposed class than under the given one (0.5 without an image or a colour model).

        Each class's colour is a per-channel Gaussian over the pixels labelled with it. This is
        the image's own vote on a fix, independent of the model: widening a correct outline adds
        pixels that look like the background, while a correct fix of a mask drawn too narrow
        adds pixels that look like its objects. It counts for whole-mask fits too, whose
        changed pixels are spread over every object.
        """
        if self.image is None:
            return 0.5
        given = self.given[region.slices][region.region]
        changed = proposed != given
        if not changed.any():
            return 0.5
        pixels = self.image[region.slices][region.region][changed]
        old, new = given[changed], proposed[changed]
        votes = np.full(len(pixels), 0.5)
        for cls_old in np.unique(old):
            for cls_new in np.unique(new[old == cls_old]):
                a, b = self.colour(int(cls_old)), self.colour(int(cls_new))
                if a is None or b is None:
                    continue
                sel = (old == cls_old) & (new == cls_new)
                votes[sel] = _log_likelihood(pixels[sel], b) > _log_likelihood(pixels[sel], a)
        return float(votes.mean())


def _log_likelihood(x: np.ndarray, ref: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Per-pixel log-likelihood (up to a constant) of colours ``x`` (n, channels) under a
    per-channel Gaussian ``(mean, sd)``."""
    mean, sd = ref
    return -0.5 * (((x - mean) / sd) ** 2).sum(1) - np.log(sd).sum()


def region_features(regions: list[Region], stats: ImageStats, probs, image_evidence: float):
    """One row of :data:`REGION_FEATURES` per region (float32, n x F); stored on each region as
    ``region.features``.

    Parameters
    ----------
    regions : list of Region
        The image's regions with their uncalibrated ``score`` (doubt) and ``prob_correct``
        (model belief), before any image weighting.
    stats : ImageStats
        The image's given mask, model labels and colours.
    probs : ndarray
        Class probabilities (C, H, W).
    image_evidence : float
        The image's coherent error evidence (:func:`~napari_noisyfix.quality.evidence.image_factor`).
    """
    n_regions = np.log1p(len(regions))
    for reg in regions:
        reg.features = _row(reg, stats, probs, image_evidence, n_regions)
    return np.array([r.features for r in regions], np.float32).reshape(-1, len(REGION_FEATURES))


def _row(reg: Region, stats: ImageStats, probs, image_evidence: float, n_regions: float):
    pixels = reg.region
    pred = reg.labels[pixels]
    belief = np.take_along_axis(probs[:, reg.slices[0], reg.slices[1]], reg.labels[None], 0)[0]
    thick = ndi.distance_transform_edt(np.pad(pixels, 1))[1:-1, 1:-1].max()
    whole = reg.scope == "image"
    row = [float(reg.kind == k) for k in OBJECT_REGION_KINDS] + [float(whole)]
    row += [
        reg.score,
        reg.prob_correct,
        float((belief[pixels] >= 0.5).mean()) if pred.size else 0.0,
        np.log(max(reg.area, 1)),
        np.log(max(reg.area, 1) / stats.unit),
        dice_change(reg, stats.given),
        float(thick),
        float(stats.outline[reg.slices][pixels].mean()),
        _enclosed(reg, stats.fg),
        stats.colour_distance(reg, reg.cls) if not whole else 0.0,
        stats.colour_distance(reg, 0) if not whole else 0.0,
        stats.colour_vote(reg, pred),
        image_evidence,
        stats.model_dice,
        n_regions,
    ]
    return np.asarray(row, np.float32)


def _enclosed(region: Region, fg: np.ndarray) -> float:
    """Share of the pixels 8-adjacent to the region (outside it) that are labelled foreground."""
    r0, c0, r1, c1 = region.bbox
    lo_r, lo_c = max(r0 - 1, 0), max(c0 - 1, 0)
    window = fg[lo_r : r1 + 1, lo_c : c1 + 1]
    inside = np.zeros(window.shape, bool)
    inside[r0 - lo_r : r1 - lo_r, c0 - lo_c : c1 - lo_c] = region.region
    ring = ndi.binary_dilation(inside, np.ones((3, 3), bool)) & ~inside
    return float(window[ring].mean()) if ring.any() else 0.0


def image_raw_features(noisy_or: float, p_given: np.ndarray, stats: ImageStats) -> dict[str, float]:
    """The image features that need no calibrated region probabilities.

    Parameters
    ----------
    noisy_or : float
        The uncalibrated image score.
    p_given : ndarray
        The model's probability of each given label (H, W).
    stats : ImageStats
        The image's shared statistics.
    """
    fg, model = int(stats.fg.sum()), int(stats.model_fg.sum())
    n_given, n_model = ndi.label(stats.fg)[1], ndi.label(stats.model_fg)[1]
    doubt = 1.0 - np.asarray(p_given, np.float64)
    return {
        "noisy_or": float(noisy_or),
        "softmin": softmin_quality(p_given),
        "model_dice": float(stats.model_dice),
        "log_fg_ratio": float(np.log((model + 1.0) / (fg + 1.0))),
        "log_object_ratio": float(np.log((n_model + 1.0) / (n_given + 1.0))),
        "log_fg_share": float(np.log((fg + 1.0) / stats.fg.size)),
        "outline_doubt": float(doubt[stats.outline].mean()) if stats.outline.any() else 0.0,
        "doubt_mass": float(doubt.sum() / max(fg, model, 1)),
        **_outline_agreement(stats.fg, stats.model_fg),
    }


def _outline_agreement(fg: np.ndarray, model_fg: np.ndarray) -> dict[str, float]:
    """Mean symmetric distance between the two masks' outlines, and the log ratio of their
    lengths: jittered, polygonal or shifted outlines move away from the model's smooth ones."""
    given_line, model_line = fg & ~ndi.binary_erosion(fg), model_fg & ~ndi.binary_erosion(model_fg)
    if not given_line.any() or not model_line.any():
        return {"outline_distance": 0.0, "log_perimeter_ratio": 0.0}
    to_model = ndi.distance_transform_edt(~model_line)[given_line]
    to_given = ndi.distance_transform_edt(~given_line)[model_line]
    return {
        "outline_distance": float(
            (to_model.sum() + to_given.sum()) / (to_model.size + to_given.size)
        ),
        "log_perimeter_ratio": float(np.log(given_line.sum() / model_line.sum())),
    }


def image_features(raw: dict[str, float], p_error, p_help, change, whole_weight) -> np.ndarray:
    """The full image row of :data:`IMAGE_FEATURES` from the raw features and the calibrated
    region probabilities (arrays over the image's regions) and Dice changes."""
    p_error, p_help, change = (np.asarray(a, np.float64) for a in (p_error, p_help, change))
    row = dict(raw)
    row["max_error"] = float(p_error.max()) if p_error.size else 0.0
    row["expected_loss"] = float(min(1.0, (p_error * change).sum()))
    row["best_gain"] = float((p_help * change).max()) if p_help.size else 0.0
    row["whole_mask_weight"] = float(whole_weight)
    return np.array([row[k] for k in IMAGE_FEATURES], np.float32)


def image_design(X: np.ndarray) -> np.ndarray:
    """Image rows (n x len(IMAGE_FEATURES)) with the probability features as logits."""
    out = np.array(X, np.float64, copy=True)
    for name in PROBABILITY_FEATURES:
        j = IMAGE_FEATURES.index(name)
        p = np.clip(out[:, j], _CLIP, 1.0 - _CLIP)
        out[:, j] = np.log(p) - np.log1p(-p)
    return out


def _channels(image: np.ndarray) -> np.ndarray:
    """The image as (H, W, channels)."""
    return image[..., None] if image.ndim == 2 else image
