"""Instance-level label noise: ``merge`` (neighbouring objects drawn as one) and ``split`` (one
object drawn as two pieces), on instance label images (one id per object).

Both leave the semantic union almost as it is (a merge fills the narrow gap between the two
objects, as an annotator drawing one outline round both would), so they are invisible to every
semantic measure: only object-level evidence finds them. The other noise types of
:mod:`.noise` reach instance masks through their union, the ids carried over by
:func:`~napari_noisyfix.instance_labels.reconcile`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.morphology import disk
from skimage.segmentation import expand_labels

from ..errors import NoisyFixError
from ..instance_labels import fresh_id, reconcile, touching_pairs

INSTANCE_KINDS = ("merge", "split")
#: Objects at most this far apart (pixels) can be drawn as one.
MERGE_GAP = 2
#: A split cuts objects of at least this area; each piece keeps at least ``MIN_PIECE`` of it.
MIN_SPLIT_AREA = 30
MIN_PIECE = 0.25
COUNT = (1, 3)


def near_pairs(ids: np.ndarray, gap: int = MERGE_GAP) -> list[tuple[int, int]]:
    """Pairs of objects that touch or lie within ``gap`` pixels of each other, sorted."""
    return sorted(touching_pairs(expand_labels(np.asarray(ids), distance=gap / 2.0 + 0.5)))


def merge(ids: np.ndarray, rng: np.random.Generator, count: int) -> tuple[np.ndarray, dict]:
    """Draw up to ``count`` pairs of neighbouring objects as one each (the gap between them
    filled); returns the new ids and the merged pairs."""
    out = np.array(ids, dtype=np.uint16, copy=True)
    pairs, used, done = near_pairs(out), set(), []
    for i in rng.permutation(len(pairs)):
        a, b = pairs[int(i)]
        if len(done) >= count or a in used or b in used:
            continue
        union = (out == a) | (out == b)
        bridge = ndi.binary_closing(union, disk(MERGE_GAP), border_value=0) & (out == 0)
        out[(out == b) | bridge] = a
        used |= {a, b}
        done.append([a, b])
    return out, {"pairs": done}


def _cut(obj: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """One side of a straight cut through the object's centroid at a random angle, or None
    when no angle drawn leaves both pieces :data:`MIN_PIECE` of the object."""
    rows, cols = np.nonzero(obj)
    for _ in range(8):
        angle = rng.uniform(0.0, np.pi)
        side = (rows - rows.mean()) * np.cos(angle) - (cols - cols.mean()) * np.sin(angle) > 0
        if MIN_PIECE <= side.mean() <= 1.0 - MIN_PIECE:
            out = np.zeros(obj.shape, bool)
            out[rows[side], cols[side]] = True
            return out
    return None


def split(ids: np.ndarray, rng: np.random.Generator, count: int) -> tuple[np.ndarray, dict]:
    """Draw up to ``count`` objects as two touching pieces each (a straight cut through the
    centroid); the second piece gets a fresh id. Returns the new ids and the split objects."""
    out = np.array(ids, dtype=np.uint16, copy=True)
    areas = np.bincount(out.ravel())
    big = [k for k in range(1, len(areas)) if areas[k] >= MIN_SPLIT_AREA]
    done = []
    for i in rng.permutation(len(big)):
        if len(done) >= count:
            break
        k = big[int(i)]
        piece = _cut(out == k, rng)
        if piece is not None:
            new = fresh_id(out)
            out[piece] = new
            done.append([k, new])
    return out, {"objects": done}


def applies(kind: str, ids: np.ndarray) -> bool:
    """Whether ``merge`` / ``split`` can change the id image ``ids``."""
    if kind == "merge":
        return bool(near_pairs(ids))
    if kind == "split":
        return bool((np.bincount(np.asarray(ids).ravel())[1:] >= MIN_SPLIT_AREA).any())
    raise NoisyFixError(f"unknown instance noise type {kind!r}; choose {', '.join(INSTANCE_KINDS)}")


def corrupt_instances(
    ids: np.ndarray, rng: np.random.Generator, kind: str
) -> tuple[np.ndarray, dict]:
    """One noise type on an instance mask: ``merge``, ``split``, or any type of :mod:`.noise`
    applied to the union (ids carried over). Returns the uint16 ids and ``{"type", "params",
    "changed"}``."""
    from .noise import corrupt_mask

    ids = np.asarray(ids, dtype=np.uint16)
    if kind in INSTANCE_KINDS:
        count = int(rng.integers(COUNT[0], COUNT[1] + 1))
        out, params = (merge if kind == "merge" else split)(ids, rng, count)
    else:
        union, info = corrupt_mask(ids > 0, rng, kind=kind)
        out, params, kind = reconcile(ids, union), info["params"], info["type"]
    return out, {"type": kind, "params": params, "changed": bool(np.any(out != ids))}
