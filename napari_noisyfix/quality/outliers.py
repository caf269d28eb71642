"""Clustering outliers: objects whose descriptors sit far from every cluster of their peers.

A confident model can share a wrong mask (it learned the same mistake); objects that look unlike the
others (shape, intensity, pooled decoder features, model agreement) are still suspicious. Descriptors
are standardised, clustered with K-Means or DBSCAN (scikit-learn), and an object is an outlier when
its distance to the nearest centre has a robust z-score above a threshold or its cluster is tiny.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import groupby

import numpy as np
from scipy import ndimage as ndi

from ..errors import NoisyFixError
from .params import PARAMS
from .region import Region

SHAPE_COLUMNS = ("log_area", "eccentricity", "compactness", "extent", "log_axis_ratio")


@dataclass
class ObjectTable:
    """Descriptors of the given objects of one image.

    ``classes`` is the class of each object, ``X`` one row of descriptors per object (columns named
    in ``columns``). ``labels`` is the (H, W) object label map (0 = none) and ``proposal`` the labels
    an outlier fix would write (the model's prediction, or background without one); both may be left
    out and supplied by ``loader`` when an object of the image is flagged, so that clustering a
    large project holds only the descriptors in memory.
    """

    name: str
    classes: np.ndarray
    X: np.ndarray
    columns: list[str]
    labels: np.ndarray | None = None
    proposal: np.ndarray | None = None
    loader: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The object label map and the proposal; loaded by ``loader`` when not held, and then
        not kept (a large project's label maps stay on disk)."""
        if self.labels is not None and self.proposal is not None:
            return self.labels, self.proposal
        if self.loader is None:
            raise NoisyFixError(f"{self.name}: object table without label map or loader")
        return self.loader()


def describe_objects(
    name: str,
    given_mask: np.ndarray,
    image: np.ndarray | None = None,
    probs: np.ndarray | None = None,
    features: np.ndarray | None = None,
) -> ObjectTable:
    """Per-object descriptors of the foreground objects of one given mask.

    Parameters
    ----------
    name : str
        Image name.
    given_mask : ndarray
        Given labels (H, W); every connected non-zero area of one class is an object.
    image : ndarray, optional
        Image (H, W) or (H, W, 3): adds mean and spread of intensity.
    probs : ndarray, optional
        Class probabilities (C, H, W): adds the mean probability of the given class.
    features : ndarray, optional
        Decoder features (F, H, W): adds their mean over each object.
    """
    given_mask = np.asarray(given_mask)
    labels, classes = object_labels(given_mask)
    cols, blocks = list(SHAPE_COLUMNS), [_shape_block(labels, len(classes))]
    for extra, fn in ((image, _intensity_block), (probs, _prob_block), (features, _feature_block)):
        if extra is not None:
            block, names = fn(name, np.asarray(extra), labels, classes, given_mask.shape)
            blocks.append(block)
            cols.extend(names)
    X = np.concatenate(blocks, axis=1) if len(classes) else np.zeros((0, len(cols)))
    proposal = (
        np.argmax(probs, axis=0).astype(np.uint8)
        if probs is not None
        else np.zeros_like(given_mask, dtype=np.uint8)
    )
    return ObjectTable(name, classes, X.astype(np.float64), cols, labels, proposal)


def object_labels(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.zeros(mask.shape, dtype=np.int32)
    classes, offset = [], 0
    for cls in np.unique(mask[mask > 0]):
        lab, n = ndi.label(mask == cls)
        labels[lab > 0] = lab[lab > 0] + offset
        classes.extend([int(cls)] * n)
        offset += n
    return labels, np.asarray(classes, dtype=np.int64)


def _shape_block(labels: np.ndarray, n: int) -> np.ndarray:
    """Shape descriptors of objects 1..n from pixel moments, vectorised over all objects.

    Log area, eccentricity and log axis ratio of the equivalent ellipse (second moments),
    compactness ``4 pi area / perimeter^2`` (inner boundary pixels) and extent (area / bbox area).
    """
    if n == 0:
        return np.zeros((0, len(SHAPE_COLUMNS)))
    flat = labels.ravel()
    rows, cols = np.indices(labels.shape).reshape(2, -1).astype(np.float64)

    def total(weights=None):
        return np.bincount(flat, weights=weights, minlength=n + 1)[1:]

    area = total()
    mr, mc = total(rows) / area, total(cols) / area
    vrr = total(rows * rows) / area - mr**2 + 1 / 12
    vcc = total(cols * cols) / area - mc**2 + 1 / 12
    vrc = total(rows * cols) / area - mr * mc
    half, root = (vrr + vcc) / 2, np.sqrt(((vrr - vcc) / 2) ** 2 + vrc**2)
    big, small = half + root, np.maximum(half - root, 0)
    inner = (labels > 0) & ~ndi.binary_erosion(labels > 0)
    perimeter = np.maximum(np.bincount(labels[inner], minlength=n + 1)[1:], 1)
    boxes = ndi.find_objects(labels, max_label=n)
    box_area = np.array([(s[0].stop - s[0].start) * (s[1].stop - s[1].start) for s in boxes])
    return np.stack(
        [
            np.log(area),
            np.sqrt(1 - small / big),
            np.clip(4 * np.pi * area / perimeter**2, 0, 2),
            area / box_area,
            np.log((np.sqrt(big) + 0.5) / (np.sqrt(small) + 0.5)),
        ],
        axis=1,
    )


def _pooled(values: np.ndarray, labels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of ``values`` (H, W) per object label 1..n."""
    idx = np.arange(1, n + 1)
    mean = np.asarray(ndi.mean(values, labels, idx), dtype=np.float64).reshape(n)
    var = np.asarray(ndi.variance(values, labels, idx), dtype=np.float64).reshape(n)
    return mean, np.sqrt(np.maximum(var, 0))


def _check_hw(name, array, hw, what, axis) -> None:
    got = array.shape[:2] if axis == "last" else array.shape[-2:]
    if tuple(got) != tuple(hw):
        raise NoisyFixError(f"{name}: {what} of shape {array.shape} does not match the mask {hw}")


def _intensity_block(name, image, labels, classes, hw):
    _check_hw(name, image, hw, "image", "last")
    gray = image.astype(np.float64).mean(axis=2) if image.ndim == 3 else image.astype(np.float64)
    gray = (gray - gray.mean()) / (gray.std() + 1e-9)
    mean, std = _pooled(gray, labels, len(classes))
    return np.stack([mean, std], axis=1), ["intensity_mean", "intensity_std"]


def _prob_block(name, probs, labels, classes, hw):
    _check_hw(name, probs, hw, "probabilities", "first")
    n = len(classes)
    cls_map = np.concatenate([[0], classes])[labels]
    pix = np.take_along_axis(probs, cls_map[None].astype(np.intp), 0)[0].astype(np.float64)
    mean = _pooled(pix, labels, n)[0] if n else np.zeros(0)
    return mean.reshape(n, 1), ["p_given_mean"]


def _feature_block(name, features, labels, classes, hw):
    _check_hw(name, features, hw, "features", "first")
    n = len(classes)
    counts = np.bincount(labels.ravel(), minlength=n + 1)[1:].astype(np.float64)
    flat = features.reshape(features.shape[0], -1).astype(np.float64)
    sums = np.stack(
        [np.bincount(labels.ravel(), weights=f, minlength=n + 1)[1:] for f in flat], axis=1
    )
    return sums / np.maximum(counts, 1)[:, None], [f"feature_{i}" for i in range(features.shape[0])]


def find_outliers(
    tables: list[ObjectTable],
    method: str = "kmeans",
    n_clusters: int | None = None,
    z_threshold: float = PARAMS.outliers.z_threshold,
    tiny: float = PARAMS.outliers.tiny_cluster,
    seed: int = 0,
) -> list[Region]:
    """Objects unlike their peers, as regions of kind ``"outlier"`` (most atypical first).

    Parameters
    ----------
    tables : list of ObjectTable
        From :func:`describe_objects`, one per image, all with the same columns.
    method : {"kmeans", "dbscan"}
        Clustering algorithm (scikit-learn).
    n_clusters : int, optional
        K-Means clusters; by default about sqrt(n / 10), 1..8.
    z_threshold : float
        Robust z-score of the distance to the nearest centre above which an object is flagged.
    tiny : float
        Clusters with fewer than this share of the objects (and fewer than 3 when the set is small)
        count as tiny: their members are flagged too.
    seed : int
        K-Means seed.
    """
    X, owners = _stack(tables)
    if len(X) < 5:
        return []
    from sklearn.preprocessing import StandardScaler  # here: describing objects needs no sklearn

    # X is this call's own stack: scaled in place (a project's objects are held once)
    Xs = np.nan_to_num(StandardScaler(copy=False).fit_transform(X), copy=False)
    assign, centres, isolated = _cluster(Xs, method, n_clusters, tiny, seed)
    assign = _nearest_regular(Xs, assign, centres, isolated)
    z = _robust_z(np.linalg.norm(Xs - centres[assign], axis=1))
    flagged = np.flatnonzero((z > z_threshold) | isolated)
    regions = []
    for ti, members in groupby(flagged, key=lambda i: owners[i][0]):
        labels, proposal = tables[ti].arrays()  # read once per image with outliers
        maps = (labels, proposal, ndi.find_objects(labels))
        for i in members:
            offset = Xs[i] - centres[assign[i]]
            args = (owners[i][1], offset, z[i], isolated[i], tables[0].columns, z_threshold)
            regions.append(_outlier_region(tables[ti], maps, *args))
    regions.sort(key=lambda r: -r.score)
    return regions


def _stack(tables: list[ObjectTable]) -> tuple[np.ndarray, list[tuple[int, int]]]:
    cols = tables[0].columns if tables else []
    for t in tables:
        if t.columns != cols:
            raise NoisyFixError(f"{t.name}: object descriptors {t.columns} differ from {cols}")
    owners = [(ti, k) for ti, t in enumerate(tables) for k in range(len(t.X))]
    X = np.concatenate([t.X for t in tables], axis=0) if tables else np.zeros((0, 0))
    return X, owners


def _cluster(Xs, method, n_clusters, tiny, seed):
    """Cluster assignment, centres, and per object whether it sits in a tiny cluster or in none."""
    n = len(Xs)
    if method == "kmeans":
        from sklearn.cluster import KMeans

        k = n_clusters or int(np.clip(round(np.sqrt(n / 10)), 1, 8))
        km = KMeans(n_clusters=min(k, n), n_init=4, random_state=seed).fit(Xs)
        assign, centres, noise = km.labels_, km.cluster_centers_, np.zeros(n, bool)
    elif method == "dbscan":
        assign, centres, noise = _dbscan(Xs)
    else:
        raise NoisyFixError(f"unknown clustering method {method!r} (kmeans or dbscan)")
    sizes = np.bincount(assign[~noise], minlength=len(centres))
    small = sizes < max(tiny * n, 2 if n < 100 else 3)
    return assign, centres, small[assign] | noise


def _nearest_regular(Xs, assign, centres, isolated) -> np.ndarray:
    """Re-assign isolated objects to the nearest centre of a cluster of regular objects."""
    regular = np.unique(assign[~isolated])
    if regular.size == 0 or not isolated.any():
        return assign
    dist = np.linalg.norm(Xs[isolated][:, None] - centres[regular][None], axis=2)
    out = assign.copy()
    out[isolated] = regular[np.argmin(dist, axis=1)]
    return out


def _dbscan(Xs):
    """DBSCAN with eps from the data (twice the median distance to the k-th neighbour)."""
    from sklearn.cluster import DBSCAN
    from sklearn.neighbors import NearestNeighbors

    k = min(5, len(Xs) - 1)
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(Xs).kneighbors(Xs)
    eps = 2.0 * float(np.median(dist[:, -1])) + 1e-9
    labels = DBSCAN(eps=eps, min_samples=k).fit_predict(Xs)
    noise = labels < 0
    if noise.all():
        return np.zeros(len(Xs), int), Xs.mean(axis=0, keepdims=True), noise
    centres = np.stack([Xs[labels == c].mean(axis=0) for c in range(labels.max() + 1)])
    return np.where(noise, 0, labels), centres, noise


def _robust_z(d: np.ndarray) -> np.ndarray:
    """Robust z-score (median / scaled MAD); the scale is at least ``PARAMS.outliers.min_spread``
    of the median, so that near-identical objects do not turn tiny differences into outliers."""
    med = float(np.median(d))
    mad = 1.4826 * float(np.median(np.abs(d - med)))
    return (d - med) / max(mad, PARAMS.outliers.min_spread * med, 1e-12)


def _outlier_region(t, maps, k, offset, z, tiny_cluster, columns, z_threshold) -> Region:
    """Object ``k`` of table ``t`` as an outlier region; ``maps``: the image's object labels,
    the outlier fix's labels and the objects' boxes."""
    labels, full_proposal, boxes = maps
    sl = boxes[k]
    pixels = labels[sl] == k + 1
    proposal = full_proposal[sl].copy()
    given_cls = int(t.classes[k])
    changed = int(np.count_nonzero(pixels & (proposal != given_cls)))
    strength = max(float(z), z_threshold if tiny_cluster else 0.0)
    score = strength / (strength + z_threshold)
    top = [columns[i] for i in np.argsort(-np.abs(offset))[:2]]
    why = "in a tiny cluster or none" if tiny_cluster else "far from every cluster"
    return Region(
        id="",
        image=t.name,
        kind="outlier",
        cls=given_cls,
        score=score,
        prob_correct=score,
        gain=changed * score,
        area=int(pixels.sum()),
        bbox=(sl[0].start, sl[1].start, sl[0].stop, sl[1].stop),
        region=pixels,
        proposal=proposal,
        reason=f"object {why} (distance z = {z:.1f}); most atypical: {', '.join(top)}",
    )
