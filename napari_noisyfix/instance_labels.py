"""Instance label images (one id per object, as Cellpose and StarDist write them): checks, the
import-time decision between class ids and instance ids, and keeping ids through edits.

An instance project stores its masks as uint16 object ids (0 = background); everything that
learns or scores reads their semantic union (foreground = id > 0, see
:meth:`~napari_noisyfix.project.Project.mask`). When a review action changes the union,
:func:`reconcile` carries the ids over: kept pixels keep their object, pixels added next to an
object join it, an added blob touching no object becomes a new object with a fresh id.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .errors import NoisyFixError

MODES = ("semantic", "instance", "auto")
MAX_ID = 65535
#: ``auto`` reads masks as instances when the median mask holds at least this many ids ...
MIN_IDS = 4
#: ... and at least this share of all ids is one connected blob.
MIN_ONE_BLOB = 0.9
EIGHT = np.ones((3, 3), bool)


def check_ids(ids: np.ndarray, where: str) -> np.ndarray:
    """``ids`` as uint16 object ids after checking they are non-negative integers that fit."""
    ids = np.asarray(ids)
    if ids.dtype.kind == "b":
        return ids.astype(np.uint16)
    if ids.dtype.kind not in "iuf":
        raise NoisyFixError(f"{where}: mask dtype {ids.dtype} is not numeric")
    if ids.dtype.kind == "f" and not np.all(np.isfinite(ids) & (ids == np.round(ids))):
        raise NoisyFixError(f"{where}: instance mask holds non-integer values")
    if ids.size and (ids.min() < 0 or ids.max() > MAX_ID):
        raise NoisyFixError(
            f"{where}: instance ids {int(ids.min())}..{int(ids.max())} outside 0..{MAX_ID}"
        )
    return ids.astype(np.uint16)


def semantic(ids: np.ndarray) -> np.ndarray:
    """The semantic union of an id image: uint8 1 where an object is, 0 elsewhere."""
    return (np.asarray(ids) > 0).astype(np.uint8)


def fresh_id(ids: np.ndarray) -> int:
    """An id no object of ``ids`` has (one above the largest)."""
    top = int(np.asarray(ids).max(initial=0)) + 1
    if top > MAX_ID:
        raise NoisyFixError(f"no instance id left: the mask already uses id {MAX_ID}")
    return top


def blob_counts(ids: np.ndarray) -> tuple[int, int]:
    """``(ids, ids that are one 8-connected blob)`` of one id image (2D, or a stack of slices)."""
    ids = np.asarray(ids)
    if ids.ndim == 3:
        counts = [blob_counts(s) for s in ids]
        return sum(c[0] for c in counts), sum(c[1] for c in counts)
    n_ids, one = 0, 0
    for k, sl in enumerate(ndi.find_objects(ids.astype(np.int64)), start=1):
        if sl is None:
            continue
        n_ids += 1
        one += ndi.label(ids[sl] == k, EIGHT)[1] == 1
    return n_ids, int(one)


def touching_pairs(ids: np.ndarray) -> set[tuple[int, int]]:
    """Pairs ``(a, b)``, a < b, of objects that touch (8-neighbourhood)."""
    ids = np.asarray(ids)
    pairs: set[tuple[int, int]] = set()
    h, w = ids.shape
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        c0, c1 = max(0, -dc), w - max(0, dc)
        a, b = ids[: h - dr, c0:c1], ids[dr:, c0 + dc : c1 + dc]
        touch = (a > 0) & (b > 0) & (a != b)
        lo, hi = np.minimum(a[touch], b[touch]), np.maximum(a[touch], b[touch])
        pairs |= set(zip(lo.tolist(), hi.tolist(), strict=True))
    return pairs


def decide(masks: list[np.ndarray], mode: str = "auto") -> tuple[str, str]:
    """``("semantic" | "instance", why)`` for the raw integer masks of an import.

    ``auto`` reads them as instances when the median mask holds :data:`MIN_IDS` ids or more and
    at least :data:`MIN_ONE_BLOB` of all ids are one connected blob each (a class of a semantic
    mask is usually several blobs, or one of a few fixed ids).
    """
    if mode not in MODES:
        raise NoisyFixError(f"--labels {mode!r}: choose one of {', '.join(MODES)}")
    if mode != "auto":
        return mode, f"as asked (--labels {mode})"
    counts = [blob_counts(m) for m in masks]
    per_mask = float(np.median([c[0] for c in counts])) if counts else 0.0
    total = sum(c[0] for c in counts)
    share = sum(c[1] for c in counts) / total if total else 0.0
    facts = f"median {per_mask:g} ids per mask, {share:.0%} of ids one connected blob"
    if per_mask >= MIN_IDS and share >= MIN_ONE_BLOB:
        return "instance", f"{facts}; give --labels semantic to read them as classes"
    return "semantic", f"{facts}; give --labels instance to read them as objects"


def reconcile(ids: np.ndarray, union: np.ndarray) -> np.ndarray:
    """Ids for the new semantic union ``union``, carried over from ``ids``.

    Pixels still foreground keep their id; removed pixels become 0; each blob of added pixels
    joins the objects it touches (each pixel the nearest one) or, touching none, becomes a new
    object with a fresh id.
    """
    ids = np.asarray(ids, dtype=np.uint16)
    fg = np.asarray(union) > 0
    out = np.where(fg, ids, 0).astype(np.uint16)
    added = fg & (out == 0)
    if not added.any():
        return out
    blobs, n = ndi.label(added, EIGHT)
    _, (ri, ci) = ndi.distance_transform_edt(out == 0, return_indices=True)
    nearest = out[ri, ci]
    touching = ndi.binary_dilation(out > 0, EIGHT)
    next_id = fresh_id(out)
    for k, sl in enumerate(ndi.find_objects(blobs), start=1):
        blob = blobs[sl] == k
        window = out[sl]
        if (touching[sl] & blob).any() and out.any():
            window[blob] = nearest[sl][blob]
        else:
            window[blob] = next_id
            next_id += 1
    if next_id - 1 > MAX_ID:
        raise NoisyFixError(f"no instance id left: the mask already uses id {MAX_ID}")
    return out


def relabel_pieces(ids: np.ndarray, where: np.ndarray, pieces: np.ndarray) -> np.ndarray:
    """Give each piece (``pieces`` > 0, numbered) of the pixels ``where`` its own object: the
    piece that overlaps an existing object most keeps that object's id, the others get fresh
    ids; one piece only merges everything under ``where`` into one object."""
    out = np.array(ids, dtype=np.uint16, copy=True)
    where = np.asarray(where, bool) & (np.asarray(pieces) > 0)
    numbers = [int(p) for p in np.unique(pieces[where])]
    if len(numbers) == 1:
        inside = out[where]
        inside = inside[inside > 0]
        keep = int(np.bincount(inside).argmax()) if inside.size else fresh_id(out)
        out[where] = keep
        return out
    old = out[where]
    kept = int(np.bincount(old[old > 0]).argmax()) if (old > 0).any() else fresh_id(out)
    best = max(numbers, key=lambda p: int(np.count_nonzero((pieces == p) & where & (out == kept))))
    next_id = max(fresh_id(out), kept + 1)
    for p in numbers:
        sel = where & (pieces == p)
        if p == best:
            out[sel] = kept
        else:
            out[sel] = next_id
            next_id += 1
    return out


def apply_region(region, ids: np.ndarray) -> np.ndarray:
    """The ids after accepting ``region`` (a :class:`~napari_noisyfix.quality.region.Region`):
    a ``split`` region's pieces become one object, a ``merged`` region's proposed objects each
    their own, any other kind changes the union and :func:`reconcile` carries the ids over."""
    ids = np.asarray(ids, dtype=np.uint16)
    if region.kind not in ("merged", "split"):
        return reconcile(ids, region.apply(semantic(ids)))
    where = region.full_region(ids.shape)
    pieces = np.zeros(ids.shape, np.uint8)
    pieces[region.slices] = np.where(region.region, region.proposal, 0)
    if region.kind == "split":
        pieces = (pieces > 0).astype(np.uint8)
    return relabel_pieces(ids, where, pieces)


def best_matches(ids: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(best_truth, best_id)``: for each given id the true object it overlaps most, and for
    each true id the given object that overlaps it most (lookup tables indexed by id; 0 where
    an object overlaps none)."""
    ids, truth = np.asarray(ids, np.int64), np.asarray(truth, np.int64)
    best_truth = np.zeros(int(ids.max(initial=0)) + 1, np.int64)
    best_id = np.zeros(int(truth.max(initial=0)) + 1, np.int64)
    both = (ids > 0) & (truth > 0)
    if not both.any():
        return best_truth, best_id
    pairs, counts = np.unique(np.stack([ids[both], truth[both]]), axis=1, return_counts=True)
    for k in np.argsort(counts, kind="stable"):  # ascending: the largest overlap is written last
        best_truth[pairs[0, k]], best_id[pairs[1, k]] = pairs[1, k], pairs[0, k]
    return best_truth, best_id


def misassigned(ids: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Pixels in both foregrounds whose object is wrong: the given object covering them is not
    the one that mostly covers their true object, or their true object is not the one that
    mostly lies under their given object (a merge marks the absorbed object, a split the
    smaller piece)."""
    ids, truth = np.asarray(ids, np.int64), np.asarray(truth, np.int64)
    both = (ids > 0) & (truth > 0)
    best_truth, best_id = best_matches(ids, truth)
    return both & ((best_truth[ids] != truth) | (best_id[truth] != ids))


def wrong_pixels(ids: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Pixels of the id image ``ids`` whose class (foreground or not) or object
    (:func:`misassigned`) is wrong against the true ids ``truth``."""
    return ((np.asarray(ids) > 0) != (np.asarray(truth) > 0)) | misassigned(ids, truth)


def paint_truth(ids: np.ndarray, truth: np.ndarray, where: np.ndarray) -> np.ndarray:
    """``ids`` with the true objects painted over the pixels ``where`` (a reviewer's hand edit):
    each true object there takes the given id it and that id mostly share (their mutual best
    match, :func:`best_matches`), else a fresh id; true background becomes 0."""
    out = np.array(ids, dtype=np.uint16, copy=True)
    truth = np.asarray(truth, np.int64)
    where = np.asarray(where, bool)
    best_truth, best_id = best_matches(out, truth)
    painted = np.zeros(out.shape, np.uint16)
    next_id = fresh_id(out)
    for k in np.unique(truth[where & (truth > 0)]):
        j = int(best_id[k])
        if not (j and best_truth[j] == k):
            j, next_id = next_id, next_id + 1
        painted[truth == k] = j
    if next_id - 1 > MAX_ID:
        raise NoisyFixError(f"no instance id left: the mask already uses id {MAX_ID}")
    out[where] = painted[where]
    return out
