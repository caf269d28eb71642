"""The instance benchmark's own figures (``--labels instance``): the ``instance.*`` keys.

- ``instance.merge_split_ap.noisyfix``: average precision over objects of the queue's ``merged``
  and ``split`` regions, ranked by their calibrated score. The errors are read off the given and
  true ids (:func:`error_groups`): objects of the two images that share at least half of the
  smaller one are linked, and each linked group with more than one given or more than one true
  object is one error: a merge (one given, several true), a split (several given, one true) or
  mixed (either kind of region may find it). A region finds an error when it is of that kind
  and it and the error's pixels cover at least half of each other (:func:`covers`); each error
  is found once, by its best-ranked region. As in ``benchmarks/instance_finder.py`` the AP is
  scikit-learn's over the regions times the share of errors found (errors no region reaches
  count as missed), ``nan`` without errors.
- ``instance.aji.before`` / ``.after`` and ``instance.object_f1.before`` / ``.after``: the mean
  over images of the AJI and object F1 at IoU 0.5
  (:mod:`~napari_noisyfix.benchmark.instance_metrics`) of the working ids against the true ids,
  before and after measure 2's simulated review in the tool's order.
- ``instance.merge_split_errors``, ``instance.merge_split_regions``,
  ``instance.merge_split_recall``: the errors, the regions and the share of errors found.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from skimage.segmentation import relabel_sequential
from sklearn.metrics import average_precision_score

from .instance_metrics import aji, mean_over, object_f1, overlaps

#: The queue's region kinds that are object-level errors.
KINDS = ("merged", "split")
#: Two objects are linked when they share at least this share of the smaller one.
SHARED = 0.5
#: A region finds an error when each covers at least this share of the other.
COVER = 0.5


@dataclass
class ErrorGroup:
    """One object-level error of an image: ``kind`` ``merged``, ``split`` or ``mixed``, and the
    pixels of its given and true objects."""

    image: str
    kind: str
    area: np.ndarray


def error_groups(name: str, given: np.ndarray, truth: np.ndarray) -> list[ErrorGroup]:
    """The merge and split errors of the given ids against the true ids of image ``name``."""
    inter, a_given, a_true = overlaps(given, truth)
    n_given, n_true = len(a_given), len(a_true)
    if not n_given or not n_true:
        return []
    rows, cols = np.nonzero(inter >= SHARED * np.minimum(a_given[:, None], a_true[None, :]))
    graph = coo_matrix((np.ones(len(rows)), (rows, n_given + cols)), shape=(n_given + n_true,) * 2)
    _, component = connected_components(graph, directed=False)
    given = relabel_sequential(np.asarray(given).astype(np.int64))[0]
    truth = relabel_sequential(np.asarray(truth).astype(np.int64))[0]
    out = []
    for c in np.unique(component):
        members = np.flatnonzero(component == c)
        objects = members[members < n_given] + 1
        true_objects = members[members >= n_given] - n_given + 1
        if len(objects) < 2 and len(true_objects) < 2:
            continue
        kind = _kind(len(objects), len(true_objects))
        area = np.isin(given, objects) | np.isin(truth, true_objects)
        out.append(ErrorGroup(name, kind, area))
    return out


def _kind(n_given: int, n_true: int) -> str:
    """An error group's kind from its counts of given and true objects."""
    if n_given == 1:
        return "merged"
    return "split" if n_true == 1 else "mixed"


def covers(region, area: np.ndarray, share: float = COVER) -> bool:
    """Whether ``region`` and the pixels ``area`` cover at least ``share`` of each other."""
    full = region.full_region(area.shape)
    both = int(np.count_nonzero(full & area))
    return both >= share * max(int(area.sum()), 1) and both >= share * int(full.sum())


def merge_split_ap(regions: list, groups: list[ErrorGroup]) -> dict:
    """AP, recall and counts of the ``merged`` / ``split`` ``regions`` against ``groups``."""
    chosen = sorted((r for r in regions if r.kind in KINDS), key=lambda r: (-r.score, r.id))
    by_image: dict[str, list[ErrorGroup]] = {}
    for g in groups:
        by_image.setdefault(g.image, []).append(g)
    found: set[int] = set()
    labels = []
    for r in chosen:
        hit = next(
            (
                id(g)
                for g in by_image.get(r.image, [])
                if id(g) not in found and g.kind in (r.kind, "mixed") and covers(r, g.area)
            ),
            None,
        )
        found |= {hit} if hit is not None else set()
        labels.append(hit is not None)
    recall = len(found) / len(groups) if groups else float("nan")
    if not groups:
        ap = float("nan")
    elif found:
        ap = float(average_precision_score(labels, [r.score for r in chosen])) * recall
    else:
        ap = 0.0
    return {
        "instance.merge_split_ap.noisyfix": ap,
        "instance.merge_split_recall": recall,
        "instance.merge_split_errors": len(groups),
        "instance.merge_split_regions": len(chosen),
    }


def instance_results(regions: list, given: dict, truth: dict, reviewed: dict) -> dict:
    """The ``instance.*`` figures of a run (all but ``instance.arch``).

    Parameters
    ----------
    regions : list of Region
        The scored project's regions (calibrated scores).
    given, truth : dict
        Given and true object ids by image name.
    reviewed : dict
        The working ids after the simulated review, by image name.
    """
    groups = [g for n in sorted(truth) for g in error_groups(n, given[n], truth[n])]
    return {
        **merge_split_ap(regions, groups),
        "instance.aji.before": mean_over(aji, given, truth),
        "instance.aji.after": mean_over(aji, reviewed, truth),
        "instance.object_f1.before": mean_over(object_f1, given, truth),
        "instance.object_f1.after": mean_over(object_f1, reviewed, truth),
    }
