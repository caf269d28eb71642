"""Incremental retraining from the expert's corrections.

:func:`update` resumes from the newest checkpoint. Pixels an expert reviewed (accepted, edited,
confirmed) and every pixel of a clean-subset image are trusted; unreviewed pixels of the other
images keep a low weight. Every image is replayed (images with reviewed pixels are drawn more
often) so the model does not forget. The result is a new model version with fresh probabilities
for every image (scored by the updated model, so not out-of-fold) and a record of the
corrections it used, in the checkpoint and in the audit log. Its version number is reserved
when the update starts and released if it fails or is cancelled.
"""

from __future__ import annotations

import numpy as np

from ..errors import NoisyFixError
from ..reservations import reserve
from .checkpoints import load_checkpoint
from .config import TrainConfig
from .trainer import train
from .versions import commit_version, predict_names

#: Pixel weights of an update: reviewed pixels, clean-subset images, unreviewed noisy pixels.
TRUSTED_WEIGHT = 3.0
CLEAN_WEIGHT = 1.0
NOISY_WEIGHT = 0.3
#: How much more often an image with reviewed pixels is drawn than one without.
REVIEWED_OVERSAMPLING = 3.0


def update_maps(project, names: list[str]) -> tuple[dict, dict]:
    """Per-image weight maps and trusted-pixel maps for an update."""
    weights, trusted = {}, {}
    for name in names:
        reviewed = project.reviewed(name)
        if project.is_clean(name):
            weights[name] = np.full(reviewed.shape, CLEAN_WEIGHT, np.float32)
            weights[name][reviewed] = TRUSTED_WEIGHT
            trusted[name] = np.ones(reviewed.shape, bool)
        else:
            weights[name] = np.where(reviewed, TRUSTED_WEIGHT, NOISY_WEIGHT).astype(np.float32)
            trusted[name] = reviewed
    return weights, trusted


def corrections_used(project, names: list[str]) -> list[dict]:
    """Images with reviewed pixels or saved corrections, and how many pixels were reviewed."""
    used = []
    for name in names:
        n_reviewed = int(project.reviewed(name).sum())
        if n_reviewed or project.has_correction(name):
            used.append(
                {
                    "image": name,
                    "reviewed_pixels": n_reviewed,
                    "corrected": project.has_correction(name),
                }
            )
    return used


def update_config(base: TrainConfig, config: TrainConfig | None, steps: int) -> TrainConfig:
    """Settings of an update: ``config`` (or the checkpoint's) with the checkpoint's network.

    One epoch of ``steps`` steps, strategies active from the start (the model is trained
    already), no clean-subset phase and no curriculum.
    """
    if steps < 1:
        raise NoisyFixError(f"update needs at least 1 step, got {steps}")
    data = (config or base).to_dict()
    for key in ("arch", "encoder", "dropout"):
        data[key] = getattr(base, key)
    data.update(
        encoder_weights=None,
        epochs=1,
        steps_per_epoch=int(steps),
        clean_pretrain_epochs=0,
        filter_warmup=0,
        curriculum=False,
    )
    return TrainConfig.from_dict(data)


def update(project, steps: int, config: TrainConfig | None = None):
    """Retrain the newest model with the corrections; yields Progress, returns the new version.

    Parameters
    ----------
    project : Project
        A project with at least one model version.
    steps : int
        Optimiser steps.
    config : TrainConfig, optional
        Loss, schedule and strategies (default: those of the checkpoint); the network is
        always the checkpoint's.
    """
    parent = project.latest_model_version()
    if parent is None:
        raise NoisyFixError(f"{project.root}: no model yet; train one before updating")
    reservation = reserve(project, "update")
    try:
        return (yield from _update(project, parent, steps, config, reservation))
    finally:
        reservation.abandon()


def _update(project, parent: int, steps: int, config, reservation):
    """The update proper, committed under ``reservation``."""
    ckpt = load_checkpoint(project.model_dir(parent))
    cfg = update_config(ckpt.config, config, steps)
    names = project.names
    weights, trusted = update_maps(project, names)
    used = corrections_used(project, names)
    reviewed = {u["image"] for u in used}
    sampling = {n: REVIEWED_OVERSAMPLING if n in reviewed else 1.0 for n in names}
    result = yield from train(
        project,
        cfg,
        names,
        [],
        init_state=ckpt.state,
        weights=weights,
        trusted=trusted,
        sampling=sampling,
    )
    probs = predict_names(project, result, names)
    meta = {"kind": "update", "parent_version": parent, "steps": steps, "corrections": used}
    details = {"parent_version": parent, "steps": steps, "corrections": used}
    return commit_version(project, result, probs, meta, "update", details, reservation)
