"""The out-of-fold models of a version, kept so that an update can stay out-of-fold.

A version trained by :func:`~napari_noisyfix.model.oof.train_out_of_fold` stores, beside its
final model, one checkpoint per fold in ``models/vNNNN/folds/<k>/`` with the names of the
images that fold held out. :func:`~napari_noisyfix.model.update.update` resumes each of them
and scores its held-out images with it, so the probabilities behind the queue never come from
a model that learnt an image's unreviewed labels. Only the newest version keeps its fold models
(:func:`prune_folds`): older ones are never resumed, and each fold model is as large as the
final one.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import NoisyFixError

FOLDS = "folds"


@dataclass
class FoldModel:
    """One fold's checkpoint and the images it held out."""

    fold: int
    held_out: list[str]
    checkpoint: object


def fold_root(model_path: Path) -> Path:
    """Where a version's fold checkpoints live inside its model folder."""
    return Path(model_path) / FOLDS


def save_folds(model_path: Path, folds: list[tuple[int, list[str], object]]) -> None:
    """Write ``(fold, held_out, TrainResult)`` checkpoints under ``model_path/folds/``.

    Called before the version's folder is renamed into place, so the fold models exist exactly
    when the version does.
    """
    from .checkpoints import save_checkpoint

    for fold, held_out, result in folds:
        save_checkpoint(
            fold_root(model_path) / str(fold),
            result.state,
            result.config,
            result.in_channels,
            result.n_classes,
            result.history,
            {"kind": "fold", "fold": int(fold), "held_out": list(held_out)},
        )


def load_folds(project, version: int) -> list[FoldModel]:
    """The fold models of ``version`` (verified), by fold; empty when it kept none.

    Raises
    ------
    NoisyFixError
        A fold checkpoint is damaged, or the folds no longer cover the project's images.
    """
    from .checkpoints import load_checkpoint

    root = fold_root(project.model_dir(version))
    if not root.is_dir():
        return []
    folds = []
    for path in sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit()):
        ckpt = load_checkpoint(path)
        folds.append(FoldModel(int(path.name), list(ckpt.meta.get("held_out", [])), ckpt))
    folds.sort(key=lambda f: f.fold)
    covered = {n for f in folds for n in f.held_out}
    missing = sorted(set(project.names) - covered)
    if missing:
        raise NoisyFixError(
            f"{root}: the fold models of version {version} hold out no model for "
            f"{len(missing)} image(s), e.g. {missing[0]}; train again (noisyfix train)"
        )
    return folds


def prune_folds(project, keep: int) -> None:
    """Remove the fold models of every version before ``keep`` (they are never resumed)."""
    for version in project.model_versions():
        if version < keep:
            shutil.rmtree(fold_root(project.model_dir(version)), ignore_errors=True)
