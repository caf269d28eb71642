"""Whole-mask errors: a mask drawn too wide or too narrow everywhere, or misaligned with its image.

Object by object, such an error looks like many small doubtful outline regions; as a whole it is
one coherent transform of the true mask. For each image the tool tries the restorations that undo
the usual whole-mask errors of annotation and resampling:

* **erode** every outline by ``r`` px (the mask was drawn too wide),
* **dilate** every outline by ``r`` px (drawn too narrow),
* **rotate and shift** the whole mask (misregistered with its image: rotation about the image centre,
  then the translation that best matches the model, found by FFT cross-correlation).

Each restoration is scored by the log-likelihood ratio of the restored labels over the given ones
under the model's probabilities, summed over the pixels it changes. Objects the model does not see
at all (spurious) and objects it sees that the mask lacks (missing) are left out of the sum: they
are separate errors with their own regions. The best restoration's mean ratio per changed pixel
``m`` gives its weight ``1 / (1 + exp(-(m - llr_midpoint) / llr_scale))``: at ``m = 1`` the model
finds the restored labels on average ``e`` times likelier than the given ones. The search ranges
and the weight's scale are conventions (``PARAMS.whole_mask``,
:mod:`~napari_noisyfix.quality.params`); the calibration takes the weight as evidence and learns
from errors planted in the project's own masks how much it counts.

Three guards keep the model's own habits from reading as whole-mask errors:

* the probabilities are *not* rescaled by the per-class confident-learning thresholds here: that
  rescaling favours the class with the lower threshold (the foreground) at every pixel, which moves
  every outline outwards by about a pixel;
* a dilation neither counts nor fills the lines that separate touching objects
  (:func:`separation_lines`);
* with the project's foreground shift (:mod:`~napari_noisyfix.quality.prior_shift`), a fit that
  would enter the review queue is fitted again, same kind, under the shifted probabilities and
  keeps the lower weight: the error must hold whether or not the model's foreground rate is
  corrected (a weak model draws more foreground than the labels in nearly every image).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import fft as sfft
from scipy import ndimage as ndi

from .evidence import median_object_area
from .params import PARAMS
from .prior_shift import shift_probs
from .region import Region

_CLIP = 1e-3
WHOLE_MASK_KINDS = ("too_wide", "too_narrow", "shifted")


@dataclass
class SystematicFit:
    """The restoration that best explains an image's disagreement with the model.

    Attributes
    ----------
    kind : str
        ``"too_wide"`` (erode to restore), ``"too_narrow"`` (dilate) or ``"shifted"``.
    restored : ndarray
        The restored label map (uint8, H x W).
    changed : ndarray
        bool, H x W: pixels where ``restored`` differs from the given mask.
    llr : float
        Mean log-likelihood ratio (restored over given) per changed pixel that counts.
    weight : float
        Probability-like confidence (0..1) that the mask holds this whole-mask error.
    detail : str
        The transform in words, e.g. ``"erode by 2.0 px"``.
    """

    kind: str
    restored: np.ndarray
    changed: np.ndarray
    llr: float
    weight: float
    detail: str


def fit_systematic(
    probs: np.ndarray, given_mask: np.ndarray, fg_shift: float = 0.0
) -> SystematicFit | None:
    """Best whole-mask restoration of one image, or ``None`` when the mask has no foreground or
    no restoration raises the likelihood.

    Parameters
    ----------
    probs : ndarray
        Class probabilities (C, H, W).
    given_mask : ndarray
        Given labels (H, W), 0 = background.
    fg_shift : float
        The project's foreground log-odds shift (:mod:`~napari_noisyfix.quality.prior_shift`).
        A fit that would enter the review queue is fitted again, same kind, under the shifted
        probabilities, and keeps the lower of the two weights.
    """
    given = np.asarray(given_mask).astype(np.uint8)
    fg = given > 0
    if not fg.any() or fg.all():
        return None
    fit = _best_fit(probs, given, WHOLE_MASK_KINDS)
    if fit is not None and fg_shift != 0 and fit.weight >= PARAMS.whole_mask.min_weight:
        check = _best_fit(shift_probs(probs, fg_shift), given, (fit.kind,))
        weight, llr = (0.0, 0.0) if check is None else (check.weight, check.llr)
        if weight < fit.weight:
            fit.weight, fit.llr = weight, llr
    return fit


def _best_fit(probs: np.ndarray, given: np.ndarray, kinds: tuple[str, ...]) -> SystematicFit | None:
    """The restoration of the given ``kinds`` that raises the likelihood most, with its weight."""
    fg = given > 0
    logq = np.log(np.clip(np.asarray(probs, np.float32), _CLIP, 1.0))
    model_fg = np.argmax(logq, axis=0) > 0
    counted = _counted(fg, model_fg)
    log_given = np.take_along_axis(logq, given[None].astype(np.intp), 0)[0]
    radius = float(np.sqrt(median_object_area(fg) / np.pi))
    search = {
        "too_wide": lambda: _erosion(given, fg, logq, log_given, counted, radius),
        "too_narrow": lambda: _dilation(given, fg, logq, log_given, counted, radius),
        "shifted": lambda: _alignment(given, fg, logq, log_given, counted, model_fg),
    }
    candidates = [c for c in (search[k]() for k in kinds) if c is not None]
    if not candidates:
        return None
    total, n, kind, restored, detail = max(candidates, key=lambda c: c[0])
    if total <= 0 or n == 0:
        return None
    llr = total / n
    p = PARAMS.whole_mask
    weight = float(1.0 / (1.0 + np.exp(-(llr - p.llr_midpoint) / p.llr_scale)))
    return SystematicFit(kind, restored, restored != given, float(llr), weight, detail)


def _counted(fg: np.ndarray, model_fg: np.ndarray) -> np.ndarray:
    """bool (H, W): pixels outside given objects the model misses entirely and outside model
    objects the mask lacks entirely."""
    out = np.zeros(fg.shape, bool)
    for objects, other in ((fg, model_fg), (model_fg, fg)):
        labels, n = ndi.label(objects)
        if n == 0:
            continue
        seen = np.bincount(labels[other], minlength=n + 1) > 0
        seen[0] = True
        out |= ~seen[labels]
    return ~out


def _best_radius(dist: np.ndarray, gain: np.ndarray, counted: np.ndarray, max_radius: float):
    """The radius ``r`` maximising the summed ``gain`` of counted pixels with ``0 < dist <= r``.

    Returns ``(total, count, r)`` with ``count`` the counted pixels within ``r``, or ``None`` when
    no pixel is within ``max_radius``.
    """
    sel = (dist > 0) & (dist <= max_radius)
    if not sel.any():
        return None
    d, g, c = dist[sel], np.where(counted, gain, 0.0)[sel], counted[sel]
    order = np.argsort(d, kind="stable")
    d, g, c = d[order], g[order], c[order]
    last = np.r_[d[1:] != d[:-1], True]
    totals = np.cumsum(g)[last]
    counts = np.cumsum(c)[last]
    k = int(np.argmax(totals))
    return float(totals[k]), int(counts[k]), float(d[last][k])


def _erosion(given, fg, logq, log_given, counted, radius):
    dist = ndi.distance_transform_edt(fg)
    limit = max(1.0, PARAMS.whole_mask.max_radius_share * radius)
    best = _best_radius(dist, logq[0] - log_given, counted, limit)
    if best is None:
        return None
    total, n, r = best
    restored = np.where(dist > r, given, 0).astype(np.uint8)
    return total, n, "too_wide", restored, f"erode by {r:.1f} px"


def _dilation(given, fg, logq, log_given, counted, radius):
    """Dilate every object by the best radius, except across the lines that separate objects."""
    dist, (ri, ci) = ndi.distance_transform_edt(~fg, return_indices=True)
    nearest = given[ri, ci]
    log_new = np.take_along_axis(logq, nearest[None].astype(np.intp), 0)[0]
    lines = separation_lines(fg)
    limit = max(1.0, PARAMS.whole_mask.max_radius_share * radius)
    best = _best_radius(dist, log_new - log_given, counted & ~lines, limit)
    if best is None:
        return None
    total, n, r = best
    restored = np.where((dist > 0) & (dist <= r) & ~lines, nearest, given).astype(np.uint8)
    return total, n, "too_narrow", restored, f"dilate by {r:.1f} px"


def separation_lines(fg: np.ndarray) -> np.ndarray:
    """bool (H, W): background pixels next to two different objects (3 x 3 neighbourhood).

    Touching nuclei are annotated as separate objects with a thin background line between them,
    and a semantic model fills that line. The line is therefore no evidence that the mask is
    drawn too narrow, and a dilation that restores the mask keeps it.
    """
    labels, n = ndi.label(fg)
    if n < 2:
        return np.zeros(fg.shape, bool)
    high = ndi.maximum_filter(labels, size=3)
    low = ndi.minimum_filter(np.where(fg, labels, n + 1), size=3)
    return ~fg & (low <= n) & (high != low)


def _alignment(given, fg, logq, log_given, counted, model_fg):
    """Best rotation with its best translation: the rotation is searched coarsely on the masks at
    half resolution by correlation with the model's mask, then refined at full resolution by
    likelihood among the neighbouring degrees."""
    p = PARAMS.whole_mask
    limit = max(p.min_shift, int(round(p.max_shift_share * max(fg.shape))))
    signed = np.where(model_fg, np.float32(1.0), np.float32(-1.0))
    half = given[::2, ::2]
    coarse = [_rotate(half, a) > 0 for a in p.coarse_angles]
    peaks = _correlation_peaks(sfft.rfft2(signed[::2, ::2]), np.stack(coarse), (limit + 1) // 2)
    centre = p.coarse_angles[int(np.argmax(peaks))]
    target = sfft.rfft2(signed)

    def score(angle):
        moved = _rotate(given, angle)
        shift = _best_shift(target, moved > 0, limit)
        restored = _translate(moved, shift)
        gain = _transform_gain(restored, given, logq, log_given, counted)
        return gain[0], gain[1], restored, angle, shift

    fine = [score(a) for a in range(centre - p.fine_range, centre + p.fine_range + 1)]
    total, n, restored, angle, (dy, dx) = max(fine, key=lambda c: c[0])
    if n == 0:
        return None
    detail = f"rotate by {angle:+d} deg and shift by ({dy:+d}, {dx:+d}) px"
    return total, n, "shifted", restored, detail


def _transform_gain(restored, given, logq, log_given, counted) -> tuple[float, int]:
    changed = (restored != given) & counted
    if not changed.any():
        return 0.0, 0
    log_new = np.take_along_axis(logq, restored[None].astype(np.intp), 0)[0]
    return float((log_new - log_given)[changed].sum()), int(changed.sum())


def _rotate(labels: np.ndarray, angle: float) -> np.ndarray:
    """``labels`` rotated by ``angle`` degrees about the image centre (nearest neighbour, zeros
    outside); a gather on rounded coordinates, several times faster than ``ndi.rotate``."""
    if angle == 0:
        return labels
    h, w = labels.shape
    y, x = _centred_grid(h, w)
    theta = np.deg2rad(angle)
    cos, sin = np.float32(np.cos(theta)), np.float32(np.sin(theta))
    src_r = np.rint(cos * y - sin * x + np.float32((h - 1) / 2.0)).astype(np.intp)
    src_c = np.rint(sin * y + cos * x + np.float32((w - 1) / 2.0)).astype(np.intp)
    inside = (src_r >= 0) & (src_r < h) & (src_c >= 0) & (src_c < w)
    flat = np.where(inside, src_r * w + src_c, 0)
    return np.where(inside, labels.ravel()[flat], 0).astype(labels.dtype)


@lru_cache(maxsize=8)
def _centred_grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    rr, cc = np.ogrid[:h, :w]
    return (rr - (h - 1) / 2.0).astype(np.float32), (cc - (w - 1) / 2.0).astype(np.float32)


def _correlation(target: np.ndarray, moved: np.ndarray) -> np.ndarray:
    """Circular cross-correlation of ``moved`` (..., H, W) with the image whose rfft2 is ``target``."""
    h, w = moved.shape[-2:]
    spectrum = target * np.conj(sfft.rfft2(moved.astype(np.float32)))
    return sfft.irfft2(spectrum, s=(h, w))


def _shift_window(shape: tuple[int, int], limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the circular shifts within ``+-limit``."""
    h, w = shape
    rows = np.r_[0 : min(limit, h - 1) + 1, -min(limit, h - 1) : 0] % h
    cols = np.r_[0 : min(limit, w - 1) + 1, -min(limit, w - 1) : 0] % w
    return rows, cols


def _correlation_peaks(target: np.ndarray, moved: np.ndarray, limit: int) -> np.ndarray:
    """Highest correlation within ``+-limit`` shifts for each mask of the stack ``moved``."""
    rows, cols = _shift_window(moved.shape[-2:], limit)
    corr = _correlation(target, moved)
    return corr[:, rows][:, :, cols].reshape(len(moved), -1).max(axis=1)


def _best_shift(target: np.ndarray, moved: np.ndarray, limit: int) -> tuple[int, int]:
    """Integer shift (dy, dx) within ``+-limit`` maximising the correlation with ``target``."""
    h, w = moved.shape
    rows, cols = _shift_window((h, w), limit)
    window = _correlation(target, moved)[np.ix_(rows, cols)]
    i, j = np.unravel_index(int(np.argmax(window)), window.shape)
    dy, dx = int(rows[i]), int(cols[j])
    return (dy - h if dy > h // 2 else dy), (dx - w if dx > w // 2 else dx)


def _translate(labels: np.ndarray, shift: tuple[int, int]) -> np.ndarray:
    dy, dx = shift
    out = np.zeros_like(labels)
    h, w = labels.shape
    src = labels[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
    out[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out


def systematic_region(name: str, fit: SystematicFit, p_given: np.ndarray) -> Region:
    """The fit as one image-scope region of its kind: every pixel it changes, the restored mask as
    proposal.

    Its ``score`` and ``prob_correct`` are the fit's weight; ``p_given`` (H, W) only feeds the reason.
    """
    rows, cols = np.nonzero(fit.changed)
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    area = int(rows.size)
    doubt = float(1.0 - p_given[fit.changed].mean())
    return Region(
        id="",
        image=name,
        kind=fit.kind,
        scope="image",
        cls=_main_class(fit),
        score=fit.weight,
        prob_correct=fit.weight,
        gain=area * fit.weight,
        area=area,
        bbox=(r0, c0, r1, c1),
        region=fit.changed[r0:r1, c0:c1].copy(),
        proposal=fit.restored[r0:r1, c0:c1].copy(),
        detail=f"{fit.detail} ({area} px, mean doubt {doubt:.2f}, likelihood ratio e^{fit.llr:.1f})",
    )


def _main_class(fit: SystematicFit) -> int:
    labels = fit.restored[fit.restored > 0]
    return int(np.bincount(labels).argmax()) if labels.size else 1


def absorb(regions: list[Region], fit: SystematicFit) -> list[Region]:
    """``regions`` without the outline regions that lie mostly in the pixels ``fit`` changes."""
    share = PARAMS.whole_mask.absorb_share
    return [
        reg
        for reg in regions
        if reg.kind not in WHOLE_MASK_KINDS
        or reg.scope != "object"
        or np.count_nonzero(reg.region & fit.changed[reg.slices]) < share * reg.area
    ]
