"""Writing a new model version: probabilities first, the checkpoint renamed into place last."""

from __future__ import annotations

import shutil

import numpy as np

from .checkpoints import save_checkpoint
from .networks import build_model
from .predictor import Predictor
from .trainer import TrainResult


def predict_names(project, result: TrainResult, names: list[str]) -> dict[str, np.ndarray]:
    """Probabilities (float16) of ``names`` from the weights of a training result."""
    model = build_model(result.config, result.in_channels, result.n_classes)
    model.load_state_dict(result.state)
    predictor = Predictor(model, result.config, result.config.device)
    return {n: predictor.predict(project.image(n)).probs.astype(np.float16) for n in names}


def commit_version(
    project,
    result: TrainResult,
    probs: dict[str, np.ndarray],
    meta: dict,
    event: str,
    details: dict,
) -> int:
    """Store ``probs`` and the checkpoint of ``result`` as the next model version; log ``event``.

    The version exists once its checkpoint folder is renamed into place, which happens last;
    probabilities left by an interrupted earlier attempt at the same number are cleared first.
    """
    version = (project.latest_model_version() or 0) + 1
    shutil.rmtree(project.scores_dir(version) / "probs", ignore_errors=True)
    for name, p in probs.items():
        project.save_probs(version, name, p)
    save_checkpoint(
        project.model_dir(version),
        result.state,
        result.config,
        result.in_channels,
        result.n_classes,
        result.history,
        meta,
    )
    project.log.record(event, model_version=version, details=details)
    return version
