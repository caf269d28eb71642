"""Measure 1, finding errors: the tool and cleanlab's segmentation module on the same
out-of-fold probabilities.

Pixel level: average precision of a per-pixel error score against the true error mask
(given != expert). Image level: AUROC of an image score for "this mask was corrupted", overall and
per noise type (corrupted images of one type against every uncorrupted image). Binary issue masks
(cleanlab ``find_label_issues``; the tool: pixels its error regions would change) get precision,
recall and F1. Per image: the Pearson r between a method's estimated mask quality (the tool's
``est_dice``, or its ``quality`` where the scores lack it; cleanlab's softmin label quality) and
the true Dice of the given mask against the expert mask.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from ..evaluate import class_metrics, dice


@dataclass
class Scores:
    """One method's scores on the whole set, higher = more likely wrong.

    Attributes
    ----------
    pixel : ndarray
        (N, H, W) per-pixel error score.
    image : ndarray
        (N,) per-image error score.
    issues : ndarray
        (N, H, W) bool: pixels the method calls label errors.
    seconds : float
        Time the method took for the whole set (beyond the shared probabilities).
    quality : ndarray, optional
        (N,) estimated quality of each given mask, higher = better (the tool: its estimated
        Dice; cleanlab: its softmin label quality).
    """

    pixel: np.ndarray
    image: np.ndarray
    issues: np.ndarray
    seconds: float
    quality: np.ndarray | None = None


def cleanlab_scores(labels: np.ndarray, probs: np.ndarray) -> Scores:
    """cleanlab 2.9: ``get_label_quality_scores`` (softmin) and ``find_label_issues``.

    Parameters
    ----------
    labels : ndarray
        (N, H, W) given labels.
    probs : ndarray
        (N, C, H, W) out-of-fold probabilities.
    """
    from cleanlab.segmentation.filter import find_label_issues
    from cleanlab.segmentation.rank import get_label_quality_scores

    probs = probs / probs.sum(axis=1, keepdims=True)
    labels = labels.astype(np.int64)
    start = time.perf_counter()
    image_q, pixel_q = get_label_quality_scores(labels, probs, verbose=False)
    issues = find_label_issues(labels, probs, verbose=False, n_jobs=1)
    seconds = time.perf_counter() - start
    image_q = np.asarray(image_q, float)
    return Scores(1.0 - pixel_q, 1.0 - image_q, np.asarray(issues, bool), seconds, image_q)


def stack(project, version: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stored probabilities (N, C, H, W), working masks and true masks (N, H, W) of a project."""
    names = project.names
    probs = np.stack([project.load_probs(n, version) for n in names])
    given = np.stack([project.mask(n) for n in names])
    truth = np.stack([project.truth(n) for n in names])
    return probs, given, truth


def tool_scores(project, version: int, seconds: float) -> Scores:
    """The tool's scores read from a scored project: the ``error_score`` map, the image
    ``error_score``, the pixels its error regions (not the outliers) would change and the
    estimated mask Dice (``image_scores.csv`` column ``est_dice``, else ``quality``)."""
    from ..quality.score import load_image_scores, load_maps, load_regions

    names = project.names
    pixel = np.stack([load_maps(project, n, version)["error_score"] for n in names])
    rows = {r["image"]: r for r in load_image_scores(project, version)}
    issues = np.zeros(pixel.shape, bool)
    index = {n: i for i, n in enumerate(names)}
    masks = {n: project.mask(n) for n in names}
    for region in load_regions(project, version):
        if region.kind == "outlier":
            continue
        i = index[region.image]
        changed = region.apply(masks[region.image]) != masks[region.image]
        issues[i] |= changed
    image = np.array([float(rows[n]["error_score"]) for n in names])
    return Scores(pixel, image, issues, seconds, np.array([estimated_dice(rows[n]) for n in names]))


def estimated_dice(row: dict) -> float:
    """The tool's estimated Dice of one image's mask: ``est_dice``, else ``quality``."""
    return float(row["est_dice"] if "est_dice" in row else row["quality"])


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation of two (N,) arrays; NaN when either is constant."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def image_dice_results(ours: Scores, peer: Scores, given: np.ndarray, truth: np.ndarray) -> dict:
    """``detection.image_dice_r`` (the tool) and ``detection.image_dice_r.cleanlab``: Pearson r
    of each method's estimated mask quality with the true per-image Dice of ``given`` (N, H, W)
    against ``truth``."""
    true = np.array([dice(g, t) for g, t in zip(given, truth, strict=True)])
    return {
        "detection.image_dice_r": pearson(ours.quality, true),
        "detection.image_dice_r.cleanlab": pearson(peer.quality, true),
    }


def auroc(flags: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of ``scores`` for ``flags``; NaN when every flag is the same."""
    if flags.all() or not flags.any():
        return float("nan")
    return float(roc_auc_score(flags, scores))


def detection_results(
    method: str, scores: Scores, errors: np.ndarray, corrupted: np.ndarray, types: list[str]
) -> dict[str, float]:
    """Flat ``detection.*`` keys of one method.

    Parameters
    ----------
    method : str
        ``noisyfix`` or ``cleanlab``.
    errors : ndarray
        (N, H, W) bool true error mask.
    corrupted : ndarray
        (N,) bool: whether each image's mask was corrupted.
    types : list of str
        Noise type per image (``"none"`` for untouched ones).
    """
    out = {
        f"detection.pixel_ap.{method}": float(
            average_precision_score(errors.ravel(), scores.pixel.ravel())
        ),
        f"detection.image_auroc.{method}": auroc(corrupted, scores.image),
        f"detection.seconds_per_image.{method}": scores.seconds / len(corrupted),
    }
    tp = int(np.count_nonzero(scores.issues & errors))
    fp = int(np.count_nonzero(scores.issues)) - tp
    fn = int(np.count_nonzero(errors)) - tp
    counts = class_metrics(tp, fp, fn, int(errors.size) - tp - fp - fn)
    for metric in ("precision", "recall", "f1"):
        out[f"detection.issues_{metric}.{method}"] = counts[metric]
    clean = ~corrupted
    for kind in sorted({t for t, c in zip(types, corrupted, strict=True) if c}):
        sel = clean | np.array([t == kind and c for t, c in zip(types, corrupted, strict=True)])
        out[f"detection.image_auroc_by_type.{method}.{kind}"] = auroc(
            corrupted[sel], scores.image[sel]
        )
    return out


def ratios(results: dict[str, float]) -> dict[str, float]:
    """``detection.*_ratio``: the tool over cleanlab for pixel AP and image AUROC."""
    out = {}
    for metric in ("pixel_ap", "image_auroc"):
        ours, peer = (
            results[f"detection.{metric}.noisyfix"],
            results[f"detection.{metric}.cleanlab"],
        )
        out[f"detection.{metric}_ratio"] = float(ours / peer) if peer else float("nan")
    return out


def pr_curve(
    scores: Scores, errors: np.ndarray, points: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel precision-recall curve (recall, precision), thinned to about ``points`` points."""
    precision, recall, _ = precision_recall_curve(errors.ravel(), scores.pixel.ravel())
    keep = np.unique(np.linspace(0, len(recall) - 1, points).astype(int))
    return recall[keep], precision[keep]
