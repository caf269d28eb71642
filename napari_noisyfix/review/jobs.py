"""The long jobs the review front ends start: train, score, retrain (Qt-free generators).

Each yields :class:`~napari_noisyfix.progress.Progress` and returns the scored model version.
"""

from __future__ import annotations

from ..progress import Job


def score_job(project, version: int | None = None) -> Job:
    """Score ``version`` (newest model by default); returns the scored version."""
    from ..quality.score import score_project, scored_version

    yield from score_project(project, version=version)
    return scored_version(project, version)


def train_job(project, folds: int = 3, config=None) -> Job:
    """Out-of-fold training from scratch, then scoring; returns the new version."""
    from ..model.config import TrainConfig
    from ..model.oof import train_out_of_fold

    version = yield from train_out_of_fold(project, config or TrainConfig(), folds=folds)
    return (yield from score_job(project, version))


def retrain_job(project, steps: int, config=None) -> Job:
    """Incremental update from the corrections so far, then rescoring; returns the new version."""
    from ..model.update import update

    version = yield from update(project, steps, config=config)
    return (yield from score_job(project, version))
