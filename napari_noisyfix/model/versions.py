"""Writing a new model version under a reserved number; the checkpoint renamed into place last.

A job reserves its number when it starts (:func:`napari_noisyfix.reservations.reserve`), so two
overlapping jobs never share one and never mix their probabilities. :func:`commit_version` then
writes, in this order: the commit's intent (the audit event), the probabilities under
``scores/vNNNN``, the checkpoint into the reservation, the rename to ``models/vNNNN`` (the
version exists from here), the audit row, and removes the reservation. A kill at any point leaves
either no version (the next open for writing removes the leftovers) or a complete one (the next
open adds a missing audit row); see :func:`napari_noisyfix.reservations.recover`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..reservations import Reservation, reserve
from .folds import prune_folds, save_folds

if TYPE_CHECKING:
    from .trainer import TrainResult


def predict_names(project, result: TrainResult, names: list[str]) -> dict[str, np.ndarray]:
    """Probabilities (float16) of ``names`` from the weights of a training result."""
    from .predictor import Predictor

    predictor = Predictor.from_result(result)
    return {n: predictor.predict(project.image(n)).probs.astype(np.float16) for n in names}


def checkpoint_result(ckpt, best_epoch: int = -1) -> TrainResult:
    """A :class:`~.trainer.TrainResult` of a loaded checkpoint, weights in float32 (to commit or
    predict with a stored model as if it had just been trained)."""
    from .trainer import TrainResult

    state = {k: v.float() if v.is_floating_point() else v for k, v in ckpt.state.items()}
    return TrainResult(
        state,
        ckpt.history,
        int(best_epoch),
        ckpt.config,
        ckpt.in_channels,
        ckpt.n_classes,
        list(ckpt.meta.get("train_names", [])),
        list(ckpt.meta.get("val_names", [])),
    )


def _save_checkpoint(path, result: TrainResult, meta: dict) -> None:
    """The checkpoint of ``result`` at ``path`` (torch is imported here, on first use)."""
    from .checkpoints import save_checkpoint

    save_checkpoint(
        path,
        result.state,
        result.config,
        result.in_channels,
        result.n_classes,
        result.history,
        meta,
    )


def commit_version(
    project,
    result: TrainResult,
    probs: dict[str, np.ndarray],
    meta: dict,
    event: str,
    details: dict,
    reservation: Reservation | None = None,
    folds: list | None = None,
) -> int:
    """Store ``probs`` and the checkpoint of ``result`` as a new model version; log ``event``.

    Parameters
    ----------
    project : Project
        A project open for writing.
    result : TrainResult
        The trained weights and settings.
    probs : dict
        Probabilities by image name, stored under the new version.
    meta, details : dict
        Checkpoint metadata; details of the audit row.
    event : str
        The audit event (``train``, ``update``).
    reservation : Reservation, optional
        The number reserved when the job started; a new one is reserved without it.
    folds : list of (fold, held_out, TrainResult), optional
        The out-of-fold models, stored inside the version (:mod:`~.folds`); the fold models of
        older versions are removed once this one exists.

    Returns
    -------
    int
        The committed version.
    """
    held = reservation or reserve(project, event)
    try:
        held.write_intent(event, details)
        for name, p in probs.items():
            project.save_probs(held.version, name, p)
        _save_checkpoint(held.model_path, result, meta)
        if folds:
            save_folds(held.model_path, folds)
        held.land()
        project.log.record(event, model_version=held.version, details=details)
    except BaseException:
        held.abandon()
        raise
    held.finish()
    if folds:
        prune_folds(project, held.version)
    return held.version
