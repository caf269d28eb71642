"""Measure 3, learning despite noise: test Dice against the expert masks on held-out patients for
plain cross-entropy on the noisy masks, the tool's noise-robust recipe on the noisy masks, and
plain cross-entropy on the expert masks (the ceiling).

All three train on the same patients (every fold but the first of the patient-level folds) with
the same schedule and are tested on the first fold; the share of the noisy-to-ceiling gap the
robust recipe recovers is ``(robust - plain) / (clean - plain)``.
"""

from __future__ import annotations

import time

import numpy as np

from ..evaluate import dice, make_folds, train_fold
from ..progress import Progress

RUNS = ("ce_noisy", "robust_noisy", "ce_clean")


def held_out_split(project, folds: int, seed: int) -> tuple[list[str], list[str]]:
    """(train names, test names): the first patient-level fold is the test set."""
    fold_names = make_folds(project, folds, "patient", seed)
    test = fold_names[0]
    return [n for n in project.names if n not in set(test)], test


def timed_steps(job, times: list[float]):
    """Re-yield a training job, appending the seconds between consecutive training steps."""
    last_step, last_time = None, None
    while True:
        try:
            p = next(job)
        except StopIteration as stop:
            return stop.value
        now = time.perf_counter()
        if p.stage == "train" and last_step is not None and p.step == last_step + 1:
            times.append(now - last_time)
        if p.stage == "train":
            last_step, last_time = p.step, now
        yield p


def run_training(noisy_project, clean_project, configs: dict, folds: int, seed: int):
    """Train the three runs and test them (a generator).

    Parameters
    ----------
    noisy_project, clean_project : Project
        The same images with the noisy / the expert masks as labels (both hold the truth).
    configs : dict
        ``{"plain": TrainConfig, "robust": TrainConfig}``.

    Returns
    -------
    dict
        Flat ``training.*`` keys and ``"step_times"``: seconds of every training step.
    """
    train_names, test_names = held_out_split(noisy_project, folds, seed)
    plan = {
        "ce_noisy": (noisy_project, configs["plain"]),
        "robust_noisy": (noisy_project, configs["robust"]),
        "ce_clean": (clean_project, configs["plain"]),
    }
    out, step_times = {"training.n_test": len(test_names)}, []
    for i, (run, (project, config)) in enumerate(plan.items()):
        yield Progress("measure 3: training", i, len(plan), run)
        job = train_fold(project, config, train_names, test_names)
        preds, history = yield from timed_steps(job, step_times)
        scores = [dice(preds[n], noisy_project.truth(n)) for n in test_names]
        out[f"training.test_dice.{run}"] = float(np.mean(scores))
        out[f"training.test_dice_sd.{run}"] = float(np.std(scores))
        out[f"training.best_epoch.{run}"] = history["best_epoch"]
    plain, robust, clean = (out[f"training.test_dice.{r}"] for r in RUNS)
    gap = clean - plain
    out["training.gap_recovered"] = (robust - plain) / gap if gap > 0 else float("nan")
    out["step_times"] = step_times
    return out
