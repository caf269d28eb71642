"""Out-of-fold training: every image gets probabilities from a model that never trained on it.

K patient-level folds; for each fold a model is trained on the other folds (with its own
patient-level validation split for early stopping) and predicts the held-out images. A final
model is then trained on every image. Nothing is written before the end: the probabilities go
to ``scores/vNNNN/probs/``, the fold assignment to ``scores/vNNNN/oof.json`` and the final
model to ``models/vNNNN/`` with the fold models in ``models/vNNNN/folds/`` (renamed into place
last, which is what makes the version exist); an update resumes the fold models to stay
out-of-fold (:mod:`.update`).
The version number is reserved when training starts and released if it fails or is cancelled.
Under torchrun (:mod:`.distributed`) every process trains the same models; the main process alone
reserves, predicts the held-out images and commits.
"""

from __future__ import annotations

import numpy as np

from .._atomic import write_json
from ..progress import Progress, restage
from ..reservations import reserve
from ..splits import patient_folds
from .config import TrainConfig
from .distributed import current_ranks
from .noise_level import fold_config, out_of_fold_estimate
from .trainer import TrainResult, split_validation, train
from .versions import commit_version, predict_names


def _fg_fractions(project, names: list[str]) -> dict[str, float]:
    return {n: float((project.mask(n) > 0).mean()) for n in names}


def train_out_of_fold(project, config: TrainConfig, folds: int):
    """Train ``folds`` out-of-fold models and a final one; yields Progress, returns the version.

    Parameters
    ----------
    project : Project
        The project; its working masks (corrections included) are the labels.
    config : TrainConfig
        Settings for every model.
    folds : int
        Number of patient-level folds (2 .. number of patients).

    Returns the version number; None in the processes of a distributed run other than the main.
    """
    if not current_ranks().main:  # trains alongside the main process, writes nothing
        return (yield from _train(project, config, int(folds), None))
    reservation = reserve(project, "train")
    try:
        return (yield from _train(project, config, int(folds), reservation))
    finally:
        reservation.abandon()


def _train(project, config: TrainConfig, folds: int, reservation):
    """The folds and the final model, committed under ``reservation`` (none: only trained)."""
    names = project.names
    fold_lists = patient_folds(
        names, project.patients(), folds, seed=config.seed, fg=_fg_fractions(project, names)
    )
    probs: dict[str, np.ndarray] = {}
    summaries, fold_models = [], []
    judge = fold_config(config)
    for k, held_out in enumerate(fold_lists):
        rest = [n for n in names if n not in set(held_out)]
        result = yield from restage(
            train(project, judge, *split_validation(project, rest, judge)),
            f"fold {k + 1}/{folds}",
        )
        if reservation is not None:
            yield Progress(
                f"fold {k + 1}/{folds}", 0, 0, f"predicting {len(held_out)} held-out images"
            )
            probs.update(predict_names(project, result, held_out))
        summaries.append(_summary(k, held_out, result))
        fold_models.append((k, list(held_out), result))
    estimate = out_of_fold_estimate(project, probs, config)  # the folds' view sets the strength
    final = yield from restage(
        train(project, config, *split_validation(project, names, config), noise=estimate),
        "final model",
    )
    if reservation is None:
        return None
    return _commit(project, config, final, probs, summaries, fold_models, reservation)


def _summary(k: int, held_out: list[str], result: TrainResult) -> dict:
    return {
        "fold": k,
        "held_out": held_out,
        "trained_on": result.train_names,
        "validated_on": result.val_names,
        "best_epoch": result.best_epoch,
        "history": result.history,
        "robust_strength": result.strength_text(),
        "noise": result.noise,
    }


def write_fold_record(project, version: int, summaries: list[dict], fold_models) -> None:
    """``scores/vNNNN/oof.json``: which fold held out each image, and each fold's summary."""
    fold_of = {n: k for k, held_out, _ in fold_models for n in held_out}
    write_json(
        project.scores_dir(version) / "oof.json", {"folds": summaries, "image_fold": fold_of}
    )


def _commit(project, config, final: TrainResult, probs, summaries, fold_models, reservation):
    """Write the fold record, probabilities, final and fold checkpoints as the reserved version;
    log it."""
    write_fold_record(project, reservation.version, summaries, fold_models)
    fold_lists = [held_out for _, held_out, _ in fold_models]
    meta = {
        "kind": "train",
        "folds": len(fold_lists),
        "val_names": final.val_names,
        "train_names": final.train_names,
        "best_epoch": final.best_epoch,
        "robust_strength": final.strength_text(),
        "noise": final.noise,
    }
    details = {
        "folds": len(fold_lists),
        "images": len(project.names),
        "config": config.to_dict(),
        "best_epoch": final.best_epoch,
        "fold_best_epochs": [s["best_epoch"] for s in summaries],
        "robust_strength": final.strength_text(),
    }
    return commit_version(
        project, final, probs, meta, "train", details, reservation, folds=fold_models
    )


def strength_note(project, version: int) -> str:
    """The robust strength the final model of ``version`` trained with, in plain words (from its
    checkpoint's metadata; empty for versions made before it was recorded)."""
    from .._atomic import read_json
    from .checkpoints import CONFIG

    meta = read_json(project.model_dir(version) / CONFIG).get("meta", {})
    return str(meta.get("robust_strength", ""))
