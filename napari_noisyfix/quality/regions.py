"""Label-error regions: where the model confidently disagrees with the given mask, typed per object.

Per foreground class, given objects and predicted objects (connected components) are matched by
overlap into groups (connected components of the bipartite overlap graph). Every pixel where the
given mask and the model disagree on the class belongs to one group: pixels labelled ``c`` that the
model does not call ``c`` ("inside") to the group of their given object, pixels the model calls
``c`` that are not labelled ``c`` ("outside") to the group of their predicted object. Then

* a group with predicted objects only is a **missing** object,
* a group with given objects only is a **spurious** object,
* a matched group whose confident disagreement lies inside the given objects is **too wide**,
  outside is **too narrow**, on both sides in comparable amounts **shifted**.

When the whole mask is off in one coherent way (every outline too wide or too narrow, or the mask
misaligned), one image-scope region of that kind proposes the restored mask and absorbs the outline regions
it covers: see :mod:`~napari_noisyfix.quality.systematic`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .evidence import evidence_mass, image_factor, median_object_area
from .features import FEATURE_INDEX, ImageStats, region_features
from .instances import instance_regions
from .params import PARAMS
from .reasons import region_reason
from .region import Region, renumber
from .systematic import absorb, fit_systematic, systematic_region
from .thresholds import check_probs, per_class_thresholds

__all__ = ["Region", "confidence_bar", "find_regions", "model_labels"]


def model_labels(probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Threshold-calibrated argmax: the class ``c`` maximising ``p_c / t_c`` (uint8, H x W)."""
    return np.argmax(probs / thresholds[:, None, None], axis=0).astype(np.uint8)


def confidence_bar(thresholds: np.ndarray) -> np.ndarray:
    """Per-class probability above which a boundary pixel's model label counts as confident.

    Halfway (``PARAMS.finder.bar_share``) between chance (1 / C) and the class's self-confidence
    ``t_c``: the raw ``t_c`` of an easy class such as background is so high that pixels next to
    any boundary would never pass.
    """
    share = PARAMS.finder.bar_share
    return (1.0 - share) * (1.0 / thresholds.size) + share * thresholds


def find_regions(
    name: str,
    probs: np.ndarray,
    given_mask: np.ndarray,
    thresholds: np.ndarray | None = None,
    image: np.ndarray | None = None,
    min_area: int | None = None,
    fg_shift: float = 0.0,
    stats: ImageStats | None = None,
    instances: np.ndarray | None = None,
) -> list[Region]:
    """Candidate label errors of one image, strongest first.

    Parameters
    ----------
    name : str
        Image name (used in region ids and error messages).
    probs : ndarray
        Class probabilities (C, H, W).
    given_mask : ndarray
        The given labels (H, W).
    thresholds : ndarray, optional
        Per-class thresholds; derived from this image (confident learning) when omitted.
    image : ndarray, optional
        The image; when given, each region's evidence holds its colour distance to the labelled
        objects and to the background (and its reason says which it matches).
    min_area : int, optional
        Smallest region kept; by default 5% of the median given object area, at least 3 pixels.
    fg_shift : float
        The project's foreground log-odds shift (:mod:`~napari_noisyfix.quality.prior_shift`);
        a whole-mask error must hold under the shifted probabilities too.
    stats : ImageStats, optional
        The image's shared statistics when the caller already has them (built here otherwise).
    instances : ndarray, optional
        The given object ids of an instance project (``given_mask`` is their union): adds the
        ``merged`` and ``split`` candidates of :mod:`~napari_noisyfix.quality.instances`.

    Returns
    -------
    list of Region
        Sorted by decreasing gain, with ids ``<name>#0``, ``<name>#1``, ..., each carrying its
        evidence row (:func:`~napari_noisyfix.quality.features.region_features`).
    """
    probs = np.asarray(probs, dtype=np.float32)
    given_mask = np.asarray(given_mask)
    check_probs(probs, given_mask, name)
    if thresholds is None:
        thresholds = per_class_thresholds(probs, given_mask)
    pred = model_labels(probs, np.asarray(thresholds, dtype=np.float32))
    p_given = np.take_along_axis(probs, given_mask[None].astype(np.intp), 0)[0]
    p_pred = np.take_along_axis(probs, pred[None].astype(np.intp), 0)[0]
    confident = p_pred >= confidence_bar(np.asarray(thresholds, dtype=np.float32))[pred]
    ctx = _Context(name, probs, given_mask, pred, p_given, p_pred, confident)
    min_area = _default_min_area(given_mask) if min_area is None else int(min_area)
    regions = []
    for cls in range(1, probs.shape[0]):
        regions.extend(_class_regions(ctx, cls, min_area))
    fit = fit_systematic(probs, given_mask, fg_shift)
    if fit is not None and fit.weight >= PARAMS.whole_mask.min_weight:
        whole = systematic_region(name, fit, p_given)
        regions = [*absorb(regions, fit), whole]
    if instances is not None:
        regions += instance_regions(name, probs, instances, pred > 0, min_area)
    stats = stats if stats is not None else ImageStats(given_mask, pred, image)
    factor = image_factor(evidence_mass(regions, given_mask, pred > 0))
    region_features(regions, stats, probs, factor)
    _weigh_by_image_evidence(regions, factor)
    regions.sort(key=lambda r: (-r.gain, -r.score))
    return renumber(regions, name)


def _weigh_by_image_evidence(regions: list[Region], factor: float) -> None:
    """Scale each region's ``prob_correct`` (and gain) by the image's error evidence ``factor``.

    A model with a systematic bias (outlines a little tight, say) disagrees with every image in
    the same way; where an image shows no coherent error evidence, its proposals are less likely
    to be right. This is the order before the project is calibrated; the calibration weighs the
    same evidence (the ``image_evidence`` feature) on errors planted in the project's own masks.
    """
    for reg in regions:
        reg.judge(reg.score, reg.prob_correct * factor, reg.features[FEATURE_INDEX["dice_change"]])
        reg.reason = region_reason(reg)


class _Context:
    """Arrays shared by the per-class passes of one image."""

    def __init__(self, name, probs, given, pred, p_given, p_pred, confident):
        self.name, self.probs, self.given, self.pred = name, probs, given, pred
        self.p_given, self.p_pred, self.confident = p_given, p_pred, confident


def _default_min_area(given_mask: np.ndarray) -> int:
    p = PARAMS.finder
    return max(p.min_area, int(round(p.min_area_share * median_object_area(given_mask))))


def _match_groups(g_lab, ng, p_lab, npred) -> tuple[np.ndarray, np.ndarray]:
    """Group ids (1-based, 0 = background) for given objects and predicted objects."""
    pair = g_lab.astype(np.int64) * (npred + 1) + p_lab
    overlap = np.bincount(pair.ravel(), minlength=(ng + 1) * (npred + 1)).reshape(ng + 1, npred + 1)
    g_area, p_area = overlap.sum(1)[1:], overlap.sum(0)[1:]
    inter = overlap[1:, 1:]
    smaller = np.minimum(g_area[:, None], p_area[None, :])
    gi, pj = np.nonzero(inter >= PARAMS.finder.min_overlap * np.maximum(smaller, 1))
    n = ng + npred
    graph = coo_matrix((np.ones(gi.size), (gi, ng + pj)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    comp = comp + 1
    return np.concatenate([[0], comp[:ng]]), np.concatenate([[0], comp[ng:]])


def _class_regions(ctx: _Context, cls: int, min_area: int) -> list[Region]:
    g_obj, p_obj = ctx.given == cls, ctx.pred == cls
    g_lab, ng = ndi.label(g_obj)
    p_lab, npred = ndi.label(p_obj)
    if ng + npred == 0:
        return []
    g_group, p_group = _match_groups(g_lab, ng, p_lab, npred)
    inside = g_obj & ~p_obj
    outside = p_obj & ~g_obj
    group = np.where(inside, g_group[g_lab], 0) + np.where(outside, p_group[p_lab], 0)
    n_groups = int(max(g_group.max(), p_group.max()))
    has_given = np.bincount(g_group[1:], minlength=n_groups + 1) > 0
    has_pred = np.bincount(p_group[1:], minlength=n_groups + 1) > 0
    out = []
    for gid, sl in enumerate(ndi.find_objects(group), start=1):
        if sl is None:
            continue
        reg = _group_region(
            ctx, cls, gid, sl, group, inside, has_given[gid], has_pred[gid], min_area
        )
        if reg is not None:
            out.append(reg)
    return out


def _group_region(ctx, cls, gid, sl, group, inside, has_given, has_pred, min_area):
    pixels = group[sl] == gid
    matched = has_given and has_pred
    if matched:
        pixels &= ctx.confident[sl]
    area = int(pixels.sum())
    if area < min_area or (matched and not _thicker_than_a_line(pixels)):
        return None
    n_in = int((pixels & inside[sl]).sum())
    kind = _kind(has_given, has_pred, n_in, area - n_in)
    pixels, sl = _crop(pixels, sl)
    score = float(1.0 - ctx.p_given[sl][pixels].mean())
    prob_correct = float(ctx.p_pred[sl][pixels].mean())
    return Region(
        id="",
        image=ctx.name,
        kind=kind,
        cls=cls,
        score=score,
        prob_correct=prob_correct,
        gain=area * prob_correct,
        area=area,
        bbox=(sl[0].start, sl[1].start, sl[0].stop, sl[1].stop),
        region=pixels,
        proposal=ctx.pred[sl].copy(),
    )


def _thicker_than_a_line(pixels: np.ndarray) -> bool:
    """Whether some pixel has all four neighbours in ``pixels``.

    An outline disagreement one pixel wide is within the boundary ambiguity of any annotation (and
    of resampling); it is not flagged.
    """
    return bool(ndi.binary_erosion(pixels).any())


def _kind(has_given: bool, has_pred: bool, n_in: int, n_out: int) -> str:
    if not has_given:
        return "missing"
    if not has_pred:
        return "spurious"
    if min(n_in, n_out) >= PARAMS.finder.shift_balance * (n_in + n_out):
        return "shifted"
    return "too_wide" if n_in > n_out else "too_narrow"


def _crop(pixels: np.ndarray, sl: tuple[slice, slice]):
    rows, cols = np.nonzero(pixels)
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    new = (slice(sl[0].start + r0, sl[0].start + r1), slice(sl[1].start + c0, sl[1].start + c1))
    return pixels[r0:r1, c0:c1], new
