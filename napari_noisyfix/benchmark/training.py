"""Measure 3, learning despite noise: test Dice against the expert masks on held-out patients for
plain cross-entropy on the noisy masks, the tool's noise-robust recipe on the noisy masks, and
plain cross-entropy on the expert masks (the ceiling).

The test set is the run's held-out split (:class:`~napari_noisyfix.benchmark.testset.TestSet`),
which the projects never contain. The robust arm is the final model of the project's robust
out-of-fold run; the two plain models train on the same project images with the same schedule
and its patient-level early-stopping split, so all three are tested on the same unseen patients.
The share of the noisy-to-ceiling gap the robust recipe recovers is ``(robust - plain) /
(clean - plain)`` (undefined, reported as null, when the ceiling is not above plain training).
"""

from __future__ import annotations

import time

from ..progress import Progress
from .testset import version_predictor

RUNS = ("ce_noisy", "robust_noisy", "ce_clean")


def timed_steps(job, times: list[float]):
    """Re-yield a training job, appending the seconds between consecutive training steps."""
    last, last_time = None, None
    while True:
        try:
            p = next(job)
        except StopIteration as stop:
            return stop.value
        now = time.perf_counter()
        if last == (p.stage, p.step - 1):
            times.append(now - last_time)
        last, last_time = (p.stage, p.step), now
        yield p


def run_training(noisy_project, clean_project, config, version: int, test):
    """Train the two plain runs, test them and the robust model (a generator).

    Parameters
    ----------
    noisy_project, clean_project : Project
        The same images with the noisy / the expert masks as labels.
    config : TrainConfig
        The plain recipe with the budget's schedule.
    version : int
        The robust out-of-fold run of ``noisy_project``.
    test : TestSet
        The held-out split.

    Returns
    -------
    dict
        Flat ``training.*`` keys and ``"step_times"``: seconds of every plain training step.
    """
    from ..model.predictor import Predictor
    from ..model.trainer import train

    out, step_times = {"training.n_test": len(test.images)}, []
    out.update(_test_dice("robust_noisy", test.dice(version_predictor(noisy_project, version))))
    for i, (run, project) in enumerate((("ce_noisy", noisy_project), ("ce_clean", clean_project))):
        yield Progress("measure 3: training", i, 2, run)
        result = yield from timed_steps(train(project, config), step_times)
        out.update(_test_dice(run, test.dice(Predictor.from_result(result))))
        out[f"training.best_epoch.{run}"] = result.best_epoch
    plain, robust_d, clean = (out[f"training.test_dice.{r}"] for r in RUNS)
    gap = clean - plain
    out["training.gap_recovered"] = (robust_d - plain) / gap if gap > 0 else float("nan")
    out["step_times"] = step_times
    return out


def _test_dice(run: str, mean_sd: tuple[float, float]) -> dict[str, float]:
    return {f"training.test_dice.{run}": mean_sd[0], f"training.test_dice_sd.{run}": mean_sd[1]}
