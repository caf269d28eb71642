"""The long jobs the review front ends start: train, score, retrain (Qt-free generators).

Each yields :class:`~napari_noisyfix.progress.Progress` and returns the scored model version.
A job needs the project open for writing, and only one runs at a time on a project: other
processes are kept out by the project's lock (:mod:`napari_noisyfix.locking`), a second job of
the same process is refused in one line (the GUI's JobRunner refuses it earlier still).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from ..errors import NoisyFixError
from ..progress import Job, Progress

#: Project folder -> name of the job running on it in this process.
_RUNNING: dict[str, str] = {}
_RUNNING_LOCK = threading.Lock()


@contextmanager
def exclusive(project, name: str):
    """Run the body as the only job of this process on ``project``; refuse a second one."""
    project.check_writable(name)
    key = str(project.root.resolve())
    with _RUNNING_LOCK:
        if key in _RUNNING:
            raise NoisyFixError(
                f"{project.root}: {_RUNNING[key]} is running on this project; wait for it or cancel it"
            )
        _RUNNING[key] = name
    try:
        yield
    finally:
        with _RUNNING_LOCK:
            _RUNNING.pop(key, None)


def _score(project, version: int | None) -> Job:
    from ..quality.score import score_project, scored_version

    yield from score_project(project, version=version)
    return scored_version(project, version)


def score_job(project, version: int | None = None) -> Job:
    """Score ``version`` (newest model by default); returns the scored version."""
    with exclusive(project, "score"):
        return (yield from _score(project, version))


def train_job(project, folds: int | None = None, config=None, budget: str = "auto") -> Job:
    """Out-of-fold training from scratch, then scoring; returns the new version.

    Without ``config``, the plan of ``budget`` (:mod:`~napari_noisyfix.model.budget`) sets the
    network, schedule, crop size and (unless given) ``folds``. The first step's message is the
    plan with its duration estimated on this machine, marked ``metrics["notify"]`` for a front
    end to show.
    """
    from ..model.budget import estimate_seconds, given_plan, plan_text, plan_training
    from ..model.oof import train_out_of_fold

    plan = plan_training(budget, folds=folds) if config is None else given_plan(config, folds)
    with exclusive(project, "train"):
        seconds = estimate_seconds(plan, project.in_channels, project.n_classes)
        yield Progress("plan", 0, 0, plan_text(plan, seconds), {"notify": True})
        version = yield from train_out_of_fold(project, plan.config, folds=plan.folds)
        return (yield from _score(project, version))


def retrain_job(
    project, steps: int | None = None, config=None, guard: bool = True, norm_stats=None
) -> Job:
    """Incremental update from the corrections so far (``guard``: judged against its parent,
    :mod:`~napari_noisyfix.model.update_guard`; ``norm_stats``: where its batch-norm statistics
    come from, :func:`~napari_noisyfix.model.update.update`), then rescoring; returns the new
    version."""
    from ..model.update import update

    with exclusive(project, "retrain"):
        version = yield from update(
            project, steps, config=config, guard=guard, norm_stats=norm_stats
        )
        return (yield from _score(project, version))
