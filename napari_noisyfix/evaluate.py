"""Segmentation metrics, patient-level cross-validation and the ``noisyfix evaluate`` command.

Metrics
-------
For one class ``c`` of one image, with ``tp``, ``fp``, ``fn``, ``tn`` the pixel counts of
prediction == c against truth == c:

========== =============================
dice, f1   2 tp / (2 tp + fp + fn)
iou        tp / (tp + fp + fn)
precision  tp / (tp + fp)
recall     tp / (tp + fn)
accuracy   (tp + tn) / all pixels
========== =============================

**Empty-mask rule.** A ratio whose denominator is zero has nothing to measure. It is 1.0 when the
prediction is perfect for that class (no false positive and no false negative: both masks empty
of ``c``), else 0.0. So both empty gives 1.0 for every metric; a prediction with pixels of ``c``
on a truth without any gives 0.0 for dice, iou, f1, precision and recall; an empty prediction on a
non-empty truth gives 0.0 for them too. ``f1`` is the harmonic mean of precision and recall with
the same rule, which equals ``dice`` in every case.

Per image, each metric is reported per class (``"dice/<class name>"``) and as the mean over the
foreground classes (1..C-1; class 0 is the background), except ``accuracy``, which is the share of
pixels whose class is right over all classes. Sets of images aggregate as mean and standard
deviation (:func:`summarize`).
"""

from __future__ import annotations

import numpy as np

from .errors import NoisyFixError
from .progress import restage

METRICS = ("dice", "iou", "f1", "precision", "recall", "accuracy")


def confusion(pred: np.ndarray, truth: np.ndarray, cls: int = 1) -> tuple[int, int, int, int]:
    """Pixel counts ``(tp, fp, fn, tn)`` of class ``cls`` in ``pred`` against ``truth``.

    Parameters
    ----------
    pred, truth : ndarray
        Label images of the same shape (class ids).
    cls : int
        The class counted as positive.

    Returns
    -------
    tuple of int
        True positives, false positives, false negatives, true negatives.
    """
    pred, truth = np.asarray(pred), np.asarray(truth)
    if pred.shape != truth.shape:
        raise NoisyFixError(f"prediction shape {pred.shape} differs from truth shape {truth.shape}")
    p, t = pred == cls, truth == cls
    tp = int(np.count_nonzero(p & t))
    fp = int(np.count_nonzero(p)) - tp
    fn = int(np.count_nonzero(t)) - tp
    return tp, fp, fn, int(p.size) - tp - fp - fn


def _ratio(num: float, den: float, perfect: bool) -> float:
    """``num / den``; a zero denominator gives 1.0 if the class is predicted perfectly, else 0.0."""
    if den == 0:
        return 1.0 if perfect else 0.0
    return float(num) / float(den)


def class_metrics(tp: int, fp: int, fn: int, tn: int) -> dict[str, float]:
    """Every metric of :data:`METRICS` from the counts of one class (empty-mask rule applied)."""
    perfect = fp == 0 and fn == 0
    precision = _ratio(tp, tp + fp, perfect)
    recall = _ratio(tp, tp + fn, perfect)
    return {
        "dice": _ratio(2 * tp, 2 * tp + fp + fn, perfect),
        "iou": _ratio(tp, tp + fp + fn, perfect),
        "f1": _ratio(2 * precision * recall, precision + recall, perfect),
        "precision": precision,
        "recall": recall,
        "accuracy": _ratio(tp + tn, tp + fp + fn + tn, perfect),
    }


def dice(pred: np.ndarray, truth: np.ndarray, cls: int = 1) -> float:
    """Dice of class ``cls`` (empty-mask rule of the module docstring)."""
    return class_metrics(*confusion(pred, truth, cls))["dice"]


def iou(pred: np.ndarray, truth: np.ndarray, cls: int = 1) -> float:
    """Intersection over union of class ``cls``."""
    return class_metrics(*confusion(pred, truth, cls))["iou"]


def f1(pred: np.ndarray, truth: np.ndarray, cls: int = 1) -> float:
    """F1 score of class ``cls`` (harmonic mean of precision and recall)."""
    return class_metrics(*confusion(pred, truth, cls))["f1"]


def precision(pred: np.ndarray, truth: np.ndarray, cls: int = 1) -> float:
    """Precision of class ``cls``."""
    return class_metrics(*confusion(pred, truth, cls))["precision"]


def recall(pred: np.ndarray, truth: np.ndarray, cls: int = 1) -> float:
    """Recall (sensitivity) of class ``cls``."""
    return class_metrics(*confusion(pred, truth, cls))["recall"]


def accuracy(pred: np.ndarray, truth: np.ndarray) -> float:
    """Share of pixels whose class is right, over all classes."""
    pred, truth = np.asarray(pred), np.asarray(truth)
    if pred.shape != truth.shape:
        raise NoisyFixError(f"prediction shape {pred.shape} differs from truth shape {truth.shape}")
    return float(np.mean(pred == truth)) if pred.size else 1.0


def image_metrics(
    pred: np.ndarray,
    truth: np.ndarray,
    n_classes: int,
    class_names: list[str] | None = None,
) -> dict[str, float]:
    """Metrics of one image: per class (``"dice/<name>"``) and averaged over foreground classes.

    Parameters
    ----------
    pred, truth : ndarray
        Label images of the same shape.
    n_classes : int
        Number of classes including the background (class 0).
    class_names : list of str, optional
        Names used in the per-class keys; ``class<k>`` by default.

    Returns
    -------
    dict
        ``{"dice": mean over classes 1..C-1, ..., "accuracy": pixel accuracy,
        "dice/<name>": ..., ...}``.
    """
    if n_classes < 2:
        raise NoisyFixError(f"metrics need at least 2 classes, got {n_classes}")
    names = class_names or [f"class{k}" for k in range(n_classes)]
    out: dict[str, float] = {}
    per_metric: dict[str, list[float]] = {m: [] for m in METRICS if m != "accuracy"}
    for cls in range(1, n_classes):
        values = class_metrics(*confusion(pred, truth, cls))
        for metric in per_metric:
            per_metric[metric].append(values[metric])
            out[f"{metric}/{names[cls]}"] = values[metric]
    for metric, values in per_metric.items():
        out[metric] = float(np.mean(values))
    out["accuracy"] = accuracy(pred, truth)
    return out


def summarize(rows: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    """Mean and (population) standard deviation of every numeric key over ``rows`` (except the
    identifying ``fold``).

    Returns
    -------
    dict
        ``{key: {"mean": m, "sd": s, "n": count}}``, keys in first-seen order.
    """
    keys: list[str] = []
    for row in rows:
        keys += [k for k, v in row.items() if k not in keys and k != "fold" and _is_number(v)]
    out = {}
    for key in keys:
        values = np.array([row[key] for row in rows if _is_number(row.get(key))], dtype=float)
        out[key] = {"mean": float(values.mean()), "sd": float(values.std()), "n": int(values.size)}
    return out


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def format_summary(summary: dict[str, dict[str, float]], keys=METRICS) -> str:
    """``"dice 0.812 ± 0.034, iou ..."`` for the given keys of a :func:`summarize` result."""
    return ", ".join(
        f"{k} {summary[k]['mean']:.3f} ± {summary[k]['sd']:.3f}" for k in keys if k in summary
    )


# ---------------------------------------------------------------------- cross-validation
def resolve_against(project, against: str = "auto") -> str:
    """``"truth"`` or ``"masks"``: what the predictions are compared with.

    ``"auto"`` picks the true masks when every image has one, else the current working masks.
    """
    if against not in ("auto", "masks", "truth"):
        raise NoisyFixError(f"--against must be auto, masks or truth, not {against!r}")
    if against == "auto":
        return "truth" if project.has_truth() else "masks"
    if against == "truth" and not project.has_truth():
        raise NoisyFixError(f"{project.root}: --against truth, but not every image has a true mask")
    return against


def target_mask(project, name: str, against: str) -> np.ndarray:
    """The mask predictions of ``name`` are scored against (``against`` from :func:`resolve_against`)."""
    return project.truth(name) if against == "truth" else project.mask(name)


def make_folds(project, k: int, split: str = "patient", seed: int = 0) -> list[list[str]]:
    """Validation folds of image names: by patient (``"patient"``) or by image (``"image"``).

    With ``"patient"`` every image of a patient is in the same fold, so no patient is ever in
    both the training and the validation set of a fold. A project of one patient is split as
    ``noisyfix train`` splits it (:func:`~.splits.patient_folds`): runs of consecutive slices,
    with a :class:`~.splits.SliceSplitWarning` about leakage between neighbouring slices.
    """
    from .splits import patient_folds

    if split not in ("patient", "image"):
        raise NoisyFixError(f"split must be 'patient' or 'image', not {split!r}")
    names = project.names
    groups = project.patients() if split == "patient" else {n: n for n in names}
    try:
        return [sorted(f) for f in patient_folds(names, groups, k, seed=seed)]
    except NoisyFixError as exc:
        raise NoisyFixError(f"{project.root}: {exc}") from exc


def cross_validate(
    project,
    folds: int = 5,
    config=None,
    against: str = "auto",
    split: str = "patient",
    seed: int = 0,
    trainer=None,
):
    """Train on all folds but one, evaluate on the held-out fold, for every fold (a generator).

    Parameters
    ----------
    project : Project
        The project; training uses its current working masks.
    folds : int
        Number of folds (at least 2, at most the number of patients / images).
    config : TrainConfig, optional
        Training settings (the model stage's defaults when None).
    against : {"auto", "masks", "truth"}
        What the held-out predictions are scored against (see :func:`resolve_against`).
    split : {"patient", "image"}
        Folds by patient (no patient in two folds) or by image (for comparison only: images of
        one patient on both sides inflate the score).
    seed : int
        Seed of the fold assignment.
    trainer : callable, optional
        ``trainer(project, config, train_names, val_names)`` -> generator of Progress returning
        ``(predictions: dict[name, mask], history: dict)``; :func:`train_fold` by default.

    Yields
    ------
    Progress

    Returns
    -------
    dict
        ``{"split", "against", "k", "folds": [{"fold", "train", "val", "summary", "history"}],
        "per_image": [rows], "summary": {metric: {"mean", "sd", "n"}} over fold means}``.
    """
    from .progress import Progress

    against = resolve_against(project, against)
    fold_names = make_folds(project, folds, split, seed)
    trainer = trainer or train_fold
    out_folds, per_image = [], []
    for k, val in enumerate(fold_names):
        held = set(val)
        train_names = [n for n in project.names if n not in held]
        stage = f"{split} fold {k + 1}/{len(fold_names)}"
        predictions, history = yield from restage(trainer(project, config, train_names, val), stage)
        rows = _score_fold(project, predictions, val, against, k)
        per_image += rows
        out_folds.append(
            {
                "fold": k,
                "train": train_names,
                "val": val,
                "summary": summarize(rows),
                "history": history,
            }
        )
        means = {m: out_folds[-1]["summary"][m]["mean"] for m in ("dice", "iou")}
        yield Progress("cross-validation", k + 1, len(fold_names), stage, means)
    fold_means = [{m: v["mean"] for m, v in f["summary"].items()} for f in out_folds]
    return {
        "split": split,
        "against": against,
        "k": len(fold_names),
        "folds": out_folds,
        "per_image": per_image,
        "summary": summarize(fold_means),
    }


def _score_fold(project, predictions: dict, val: list[str], against: str, fold: int) -> list[dict]:
    missing = [n for n in val if n not in predictions]
    if missing:
        raise NoisyFixError(f"fold {fold}: no prediction for held-out image {missing[0]!r}")
    names = project.config.get("class_names")
    return [
        {
            "image": n,
            "patient": project.patient(n),
            "fold": fold,
            **image_metrics(
                predictions[n], target_mask(project, n, against), project.n_classes, names
            ),
        }
        for n in val
    ]


def train_fold(project, config, train_names: list[str], val_names: list[str]):
    """Default fold trainer of :func:`cross_validate` (a generator).

    Trains the model stage's trainer on ``train_names`` (it splits its own patient-level
    early-stopping share off them) and predicts ``val_names``. Nothing is written to the project:
    fold models never become model versions.

    Returns
    -------
    tuple
        ``(predictions: dict[name, uint8 mask], history: dict)`` with the per-epoch records
        under ``"epochs"`` and the kept epoch under ``"best_epoch"``.
    """
    from .model.config import TrainConfig
    from .model.predictor import Predictor
    from .model.trainer import train

    result = yield from train(project, config or TrainConfig(), names=train_names)
    predictor = Predictor.from_result(result)
    outputs = predictor.predict_batch([project.image(n) for n in val_names])
    predictions = {
        n: np.argmax(p.probs, axis=0).astype(np.uint8)
        for n, p in zip(val_names, outputs, strict=True)
    }
    history = {"epochs": result.history, "best_epoch": result.best_epoch, "steps": result.steps}
    return predictions, history


# ---------------------------------------------------------------------- command line
def evaluate_command(args) -> int:
    """``noisyfix evaluate``: patient-level cross-validation (optionally also image-level) and the
    HTML report in ``PROJECT/reports/<timestamp>/``.

    ``args`` holds ``project``, ``folds``, ``against``, ``compare_image_split``, ``report_only``
    and the training options of ``noisyfix train``.
    """
    from .cli import open_project
    from .model.config import config_from_args
    from .progress import drive
    from .report import latest_cv, write_report

    with open_project(args.project) as project:
        if args.report_only:
            cv = latest_cv(project)
        else:
            config = config_from_args(args)
            seed = getattr(args, "seed", None) or 0
            splits = ["patient"] + (["image"] if args.compare_image_split else [])
            cv = {
                split: drive(cross_validate(project, args.folds, config, args.against, split, seed))
                for split in splits
            }
        for split, result in cv.items():
            print(
                f"{split}-level {result['k']}-fold cross-validation against {result['against']}: "
                + format_summary(result["summary"])
            )
        print(f"report written to {write_report(project, cv)}")
        return 0
