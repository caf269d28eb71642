"""Object-level agreement of two instance label images (0 = background, one id per object):
the aggregated Jaccard index (AJI) and the F1 of object matching at IoU 0.5.

Both compare a predicted (or working) id image with the true one, per image; empty against empty
counts as perfect agreement (1.0), anything against an empty image as none (0.0).
"""

from __future__ import annotations

import numpy as np
from skimage.segmentation import relabel_sequential

#: A predicted object matches a true one when their IoU is above this.
MATCH_IOU = 0.5


def overlaps(pred: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(inter, area_pred, area_true)``: the (n_pred, n_true) matrix of shared pixels between
    the objects of the two id images (renumbered 1..n in id order) and their areas."""
    pred = relabel_sequential(np.asarray(pred).astype(np.int64))[0]
    truth = relabel_sequential(np.asarray(truth).astype(np.int64))[0]
    n_pred, n_true = int(pred.max(initial=0)), int(truth.max(initial=0))
    pairs = np.bincount(
        pred.ravel() * (n_true + 1) + truth.ravel(), minlength=(n_pred + 1) * (n_true + 1)
    ).reshape(n_pred + 1, n_true + 1)
    return pairs[1:, 1:], pairs[1:, :].sum(1), pairs[:, 1:].sum(0)


def _iou(inter: np.ndarray, a_pred: np.ndarray, a_true: np.ndarray) -> np.ndarray:
    return inter / np.maximum(a_pred[:, None] + a_true[None, :] - inter, 1)


def object_f1(pred: np.ndarray, truth: np.ndarray, iou: float = MATCH_IOU) -> float:
    """F1 of predicted against true objects, a match being IoU above ``iou`` (at 0.5 or more a
    match is one-to-one): ``2 matches / (n_pred + n_true)``."""
    inter, a_pred, a_true = overlaps(pred, truth)
    if not len(a_pred) or not len(a_true):
        return float(len(a_pred) == len(a_true))
    matches = int((_iou(inter, a_pred, a_true) > iou).sum())
    return 2.0 * matches / (len(a_pred) + len(a_true))


def aji(pred: np.ndarray, truth: np.ndarray) -> float:
    """Aggregated Jaccard index (Kumar et al. 2017, IEEE TMI 36(7), Algorithm 1).

    Each true object G is paired with the predicted object S of highest IoU with it (a predicted
    object may serve several true ones, as in the paper); the index is the sum of
    ``|G & S|`` over the pairs divided by the sum of ``|G | S|`` plus the areas of the predicted
    objects paired with none. A true object no prediction touches adds its area to the
    denominator only.
    """
    inter, a_pred, a_true = overlaps(pred, truth)
    if not len(a_pred) or not len(a_true):
        return float(len(a_pred) == len(a_true))
    iou = _iou(inter, a_pred, a_true)
    best = iou.argmax(0)
    cols = np.arange(len(a_true))
    hit = inter[best, cols] > 0
    shared = inter[best[hit], cols[hit]].sum()
    union = (a_pred[best[hit]] + a_true[hit] - inter[best[hit], cols[hit]]).sum()
    union += a_true[~hit].sum()
    unused = np.ones(len(a_pred), bool)
    unused[best[hit]] = False
    return float(shared / (union + a_pred[unused].sum()))


def mean_over(metric, pred: dict, truth: dict) -> float:
    """The mean of ``metric(pred[n], truth[n])`` over the images ``truth`` names."""
    return float(np.mean([metric(pred[n], truth[n]) for n in sorted(truth)]))
