"""Measure 3, learning despite noise: test Dice against the expert masks on held-out patients for
plain cross-entropy on the noisy masks, the tool's noise-robust recipe on the noisy masks, and
plain cross-entropy on the expert masks (the ceiling).

The test set is the first fold of the out-of-fold run; its robust predictions are the stored
out-of-fold probabilities (that fold's model trained on the other folds with the robust recipe).
The two plain models train on exactly those other folds with the same schedule, so all three are
tested on the same held-out patients. The share of the noisy-to-ceiling gap the robust recipe
recovers is ``(robust - plain) / (clean - plain)`` (undefined, reported as null, when the ceiling
is not above plain training).
"""

from __future__ import annotations

import time

import numpy as np

from .._atomic import read_json
from ..evaluate import dice, train_fold
from ..progress import Progress

RUNS = ("ce_noisy", "robust_noisy", "ce_clean")


def held_out_split(project, version: int) -> tuple[list[str], list[str]]:
    """(train names, test names): the test set is fold 0 of the out-of-fold run ``version``."""
    fold_of = read_json(project.scores_dir(version) / "oof.json")["image_fold"]
    test = [n for n in project.names if fold_of[n] == 0]
    return [n for n in project.names if fold_of[n] != 0], test


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


def run_training(noisy_project, clean_project, config, version: int):
    """Train the two plain runs, test them and the robust out-of-fold model (a generator).

    Parameters
    ----------
    noisy_project, clean_project : Project
        The same images with the noisy / the expert masks as labels (both hold the truth).
    config : TrainConfig
        The plain recipe with the budget's schedule.
    version : int
        The robust out-of-fold run of ``noisy_project``.

    Returns
    -------
    dict
        Flat ``training.*`` keys and ``"step_times"``: seconds of every plain training step.
    """
    train_names, test_names = held_out_split(noisy_project, version)
    truth = {n: noisy_project.truth(n) for n in test_names}
    robust = {n: noisy_project.load_probs(n, version).argmax(0) for n in test_names}
    out, step_times = {"training.n_test": len(test_names)}, []
    out.update(_test_dice("robust_noisy", robust, truth))
    for i, (run, project) in enumerate((("ce_noisy", noisy_project), ("ce_clean", clean_project))):
        yield Progress("measure 3: training", i, 2, run)
        job = train_fold(project, config, train_names, test_names)
        preds, history = yield from timed_steps(job, step_times)
        out.update(_test_dice(run, preds, truth))
        out[f"training.best_epoch.{run}"] = history["best_epoch"]
    plain, robust_d, clean = (out[f"training.test_dice.{r}"] for r in RUNS)
    gap = clean - plain
    out["training.gap_recovered"] = (robust_d - plain) / gap if gap > 0 else float("nan")
    out["step_times"] = step_times
    return out


def _test_dice(run: str, preds: dict, truth: dict) -> dict[str, float]:
    scores = [dice(preds[n], truth[n]) for n in truth]
    return {
        f"training.test_dice.{run}": float(np.mean(scores)),
        f"training.test_dice_sd.{run}": float(np.std(scores)),
    }
