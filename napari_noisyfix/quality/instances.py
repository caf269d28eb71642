"""Instance-level label errors: one labelled object that is several (``merged``), several
touching pieces that are one object (``split``). Instance projects only.

The evidence is the object's shape and the model. A labelled object whose distance transform has
two or more maxima joined by a neck narrower than ``PARAMS.instances.neck_share`` of the thinner
side, or over which the model's foreground breaks into two or more objects, is proposed split
along the watershed of its distance transform (seeded by the model's objects when they break it,
else by the distance-transform maxima). Touching labelled pieces whose union shows no neck and
that touch along a wide contact are proposed merged into one object.

The model here is the semantic U-Net trained on the union (foreground = id > 0): it gives its
foreground probability along each cut, recorded as evidence, not a boundary class of its own.
Each region's proposal numbers the objects it proposes (:attr:`Region.labels` gives its union);
:func:`~napari_noisyfix.instance_labels.relabel_pieces` writes it into the ids at review.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.measure import regionprops
from skimage.morphology import h_maxima
from skimage.segmentation import watershed

from ..instance_labels import EIGHT, touching_pairs
from .evidence import median_object_area
from .params import PARAMS
from .region import Region

__all__ = ["instance_regions", "watershed_pieces"]


def instance_regions(
    name: str, probs: np.ndarray, ids: np.ndarray, model_fg: np.ndarray, min_area: int
) -> list[Region]:
    """``merged`` and ``split`` candidates of one image (uncalibrated, without evidence rows).

    Parameters
    ----------
    name : str
        Image name.
    probs : ndarray
        Class probabilities (C, H, W); channel 0 is background.
    ids : ndarray
        The given object ids (H, W), 0 = background.
    model_fg : ndarray
        The model's foreground (bool, H, W).
    min_area : int
        The finder's smallest region (pixels).
    """
    ids = np.asarray(ids).astype(np.int64)
    p_fg = 1.0 - np.asarray(probs[0], np.float32)
    areas = np.bincount(ids.ravel())[1:]
    unit = float(np.median(areas[areas > 0])) if (areas > 0).any() else 0.0
    unit = unit or median_object_area(ids > 0) or 1.0
    smallest = max(min_area, int(PARAMS.instances.piece_share * unit))
    solidity = {p.label: p.solidity for p in regionprops(ids)}
    if not solidity:
        return []
    values = list(solidity.values())
    bar = float(np.quantile(values, PARAMS.instances.solidity_quantile))
    low = float(np.quantile(values, PARAMS.instances.low_solidity_quantile))
    out = []
    for k, sl in enumerate(ndi.find_objects(ids), start=1):
        if sl is not None:
            shape = (solidity[k], bar, low)
            reg = _merged(name, ids, k, _grow(sl, ids.shape), p_fg, model_fg, smallest, shape)
            if reg is not None:
                out.append(reg)
    return out + _split_regions(name, ids, p_fg, smallest, bar)


def _solidity(obj: np.ndarray) -> float:
    return float(regionprops(obj.astype(np.uint8))[0].solidity)


def _grow(sl, shape, margin: int = 1):
    return tuple(
        slice(max(s.start - margin, 0), min(s.stop + margin, n))
        for s, n in zip(sl, shape, strict=True)
    )


def watershed_pieces(obj: np.ndarray, markers: np.ndarray | None = None) -> np.ndarray:
    """Pieces (numbered from 1) of the bool object ``obj`` along the watershed of its distance
    transform, from ``markers`` or from the transform's maxima deeper than the neck rule."""
    dist = ndi.distance_transform_edt(np.pad(obj, 1))[1:-1, 1:-1]
    if markers is None:
        depth = max(PARAMS.instances.min_depth, (1.0 - PARAMS.instances.neck_share) * dist.max())
        markers = ndi.label(h_maxima(dist, depth) & obj, EIGHT)[0]
    return watershed(-dist, markers, mask=obj)


def _merged(name, ids, k, sl, p_fg, model_fg, smallest, shape) -> Region | None:
    """A ``merged`` region for object ``k``: the model's foreground breaks it, or it is less
    solid than the image's objects (``shape``: its solidity, the bar, the low bar) and its
    distance transform has two maxima, joined by a narrow neck unless it is very unsolid."""
    solid, bar, low = shape
    obj = ids[sl] == k
    if obj.sum() < 2 * smallest:
        return None
    seeds, n_model = ndi.label(model_fg[sl] & obj, EIGHT)
    sizes = np.bincount(seeds.ravel())[1:]
    big = np.flatnonzero(sizes >= smallest) + 1
    by_model = len(big) >= 2
    if not by_model and solid >= bar:
        return None
    markers = np.where(np.isin(seeds, big), seeds, 0) if by_model else None
    pieces = _drop_small(watershed_pieces(obj, markers), smallest)
    if pieces.max() < 2:
        return None
    dist = ndi.distance_transform_edt(np.pad(obj, 1))[1:-1, 1:-1]
    cut = _cut(pieces)
    saddle = float(dist[cut].max()) if cut.any() else 0.0
    thinner = min(float(dist[pieces == p].max()) for p in range(1, int(pieces.max()) + 1))
    neck = saddle / max(thinner, 1e-6)
    if not by_model and neck > PARAMS.instances.neck_share and solid >= low:
        return None
    gap = float(1.0 - p_fg[sl][cut].mean()) if cut.any() else 0.0
    concave = float(np.clip((bar - solid) / max(1.0 - bar, 1e-6), 0.0, 1.0))
    score = float(max(1.0 - neck, gap, concave))
    how = "the model's foreground breaks it" if by_model else "its distance transform"
    detail = (
        f"{int(pieces.max())} objects by {how}: neck {neck:.0%} as wide as the thinner one, "
        f"solidity {solid:.2f} (the image's objects: {bar:.2f} or more for three in four), "
        f"model foreground {1.0 - gap:.0%} on the cut"
    )
    return _region(name, "merged", sl, obj, pieces, score, detail)


def _drop_small(pieces: np.ndarray, smallest: int) -> np.ndarray:
    """Pieces smaller than ``smallest`` join their largest touching neighbour; renumbered from
    the largest (1) down."""
    sizes = np.bincount(pieces.ravel())
    for p in np.argsort(sizes[1:]) + 1:
        if 0 < sizes[p] < smallest:
            ring = ndi.binary_dilation(pieces == p, EIGHT) & (pieces > 0) & (pieces != p)
            if ring.any():
                target = int(np.bincount(pieces[ring]).argmax())
                pieces[pieces == p] = target
                sizes[target] += sizes[p]
                sizes[p] = 0
    numbers = np.flatnonzero(sizes[1:]) + 1
    numbers = numbers[np.argsort(-sizes[numbers], kind="stable")]
    lut = np.zeros(int(pieces.max()) + 1, np.int64)
    lut[numbers] = np.arange(1, len(numbers) + 1)
    return lut[pieces]


def _cut(pieces: np.ndarray) -> np.ndarray:
    """Pixels of a piece that touch another piece."""
    cut = np.zeros(pieces.shape, bool)
    for p in range(1, int(pieces.max()) + 1):
        own = pieces == p
        cut |= own & ndi.binary_dilation((pieces > 0) & ~own, EIGHT)
    return cut


def _bbox(mask: np.ndarray, margin: int = 0):
    rows, cols = np.nonzero(mask)
    sl = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    return _grow(sl, mask.shape, margin)


def _split_regions(name, ids, p_fg, smallest, bar: float) -> list[Region]:
    """One ``split`` region per group of touching pieces that read as one object: they touch
    along a wide contact, their union shows no neck and is as solid as the image's objects
    (at least ``bar``)."""
    areas = np.bincount(ids.ravel())
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    evidence: dict[tuple[int, int], tuple[float, float]] = {}
    for a, b in sorted(touching_pairs(ids)):
        sl = _bbox((ids == a) | (ids == b), margin=1)
        pieces = (ids[sl] == a) * 1 + (ids[sl] == b) * 2
        line = _cut(pieces)
        width = min(np.count_nonzero(line & (pieces == 1)), np.count_nonzero(line & (pieces == 2)))
        diameter = 2.0 * np.sqrt(min(areas[a], areas[b]) / np.pi)
        if width < PARAMS.instances.contact_share * diameter:
            continue
        solid = _solidity(pieces > 0)
        if solid < bar or watershed_pieces(pieces > 0).max() > 1:
            continue
        convex = (solid - bar) / max(1.0 - bar, 1e-6)  # 0 at the bar, 1 for a convex union
        wide = min(1.0, width / max(diameter, 1e-6))
        evidence[(a, b)] = (wide, float(p_fg[sl][line].mean()), convex)
        parent[root(b)] = root(a)
    groups: dict[int, list[int]] = {}
    for k in {x for pair in evidence for x in pair}:
        groups.setdefault(root(k), []).append(k)
    out = []
    for members in groups.values():
        union = np.isin(ids, members)
        sl = _bbox(union)
        obj = union[sl]
        largest = max(members, key=lambda m: areas[m])
        pieces = np.where(ids[sl] == largest, 1, 2) * obj
        pairs = [v for key, v in evidence.items() if root(key[0]) == root(members[0])]
        wide, model, convex = (float(np.mean(v)) for v in zip(*pairs, strict=True))
        detail = (
            f"{len(members)} pieces touching along {wide:.0%} of the smaller one's width, "
            f"together as convex as one object ({convex:.0%} of the way from the image's "
            f"objects to a convex shape) with no neck; model foreground {model:.0%} where they touch"
        )
        score = float(wide * model * np.sqrt(convex))
        out.append(_region(name, "split", sl, obj, pieces, score, detail))
    return out


def _region(name, kind, sl, obj, pieces, score, detail) -> Region:
    area = int(obj.sum())
    return Region(
        id="",
        image=name,
        kind=kind,
        cls=1,
        score=score,
        prob_correct=score,
        gain=area * score,
        area=area,
        bbox=(sl[0].start, sl[1].start, sl[0].stop, sl[1].stop),
        region=obj.copy(),
        proposal=np.where(obj, pieces, 0).astype(np.uint8),
        detail=detail,
    )
