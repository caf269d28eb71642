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
from pathlib import Path

from .._atomic import write_json
from ..progress import Progress
from .testset import version_predictor

RUNS = ("ce_noisy", "robust_noisy", "ce_clean")
#: Measure 3's arms when every recipe is compared (:func:`run_arms`): name -> (labels, recipe
#: and loss). ``ce_clean`` trains plain CE on the expert masks (the ceiling), ``adaptive_clean``
#: the adaptive recipe on them (its strength should fall to near plain), ``robust_clean`` the
#: fixed robust recipe and ``mixmatch_clean`` MixMatch (whether they cost clean labels anything); every
#: other arm trains on the noisy masks.
ARMS: dict[str, tuple[str, dict]] = {
    "ce_noisy": ("noisy", {"strategy": "plain"}),
    "robust_fixed": ("noisy", {"strategy": "robust"}),
    "adaptive": ("noisy", {"strategy": "adaptive"}),
    "adaptive_oof": ("noisy", {"strategy": "adaptive"}),
    "tloss": ("noisy", {"strategy": "plain", "loss": "tloss"}),
    "gce": ("noisy", {"strategy": "plain", "loss": "gce"}),
    "sce": ("noisy", {"strategy": "plain", "loss": "sce"}),
    "mixmatch": ("noisy", {"strategy": "mixmatch"}),
    "ce_clean": ("clean", {"strategy": "plain"}),
    "robust_clean": ("clean", {"strategy": "robust"}),
    "adaptive_clean": ("clean", {"strategy": "adaptive"}),
    "adaptive_oof_clean": ("clean", {"strategy": "adaptive"}),
    "mixmatch_clean": ("clean", {"strategy": "mixmatch"}),
}
#: Arms trained as ``noisyfix train`` trains: the out-of-fold folds first, then the final model
#: (tested), whose adaptive strength comes from the folds' out-of-fold predictions. The final
#: model holds out validation patients and keeps its best epoch as :func:`train` does, so an
#: arm of a fixed recipe trained this way would equal its plain arm (BENCHMARKS.md, issue 19).
OUT_OF_FOLD_ARMS = ("adaptive_oof", "adaptive_oof_clean")


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


def run_arms(projects: dict, overrides: dict, test, arms, out: Path, folds: int = 2):
    """Train each arm of :data:`ARMS` once and test it on the held-out split (a generator).

    Parameters
    ----------
    projects : dict
        ``{"noisy": Project, "clean": Project}``: the same images with noisy / expert labels.
    overrides : dict
        The budget's TrainConfig fields (schedule, device, seed).
    test : TestSet
        The held-out patients.
    arms : list of str
        Keys of :data:`ARMS`.
    out : Path
        ``arms.json`` is rewritten after every arm, so a stopped run keeps what it finished.
    folds : int
        Folds of the :data:`OUT_OF_FOLD_ARMS` (the budget's).

    Returns
    -------
    dict
        Per arm: test Dice mean / sd, best epoch, training seconds, the strength the run chose
        (``noise``: the adaptive estimate), the T-Loss's learned nu and MixMatch's last-epoch
        loss terms (``mixmatch``; None for the other arms).
    """
    from ..model.config import TrainConfig
    from ..model.predictor import Predictor
    from ..model.trainer import train

    results: dict[str, dict] = {}
    for i, arm in enumerate(arms):
        labels, recipe = ARMS[arm]
        yield Progress("measure 3: arms", i, len(arms), arm)
        start = time.perf_counter()
        config = TrainConfig(**{**overrides, **recipe})
        if arm in OUT_OF_FOLD_ARMS:
            result = yield from _out_of_fold_final(projects[labels], config, folds)
        else:
            result = yield from train(projects[labels], config)
        mean, sd = test.dice(Predictor.from_result(result))
        last = result.history[-1]
        results[arm] = {
            "test_dice": mean,
            "test_dice_sd": sd,
            "best_epoch": result.best_epoch,
            "train_s": time.perf_counter() - start,
            "strength": result.strength_text(),
            "noise": result.noise,
            "tloss_nu": last.get("tloss_nu"),
            "mixmatch": {k: v for k, v in last.items() if k.startswith("mixmatch")} or None,
        }
        write_json(Path(out) / "arms.json", results)
    return results


def _out_of_fold_final(project, config, folds: int):
    """Train ``config`` out-of-fold on ``project`` (a new version) and return its final model's
    result, as :func:`~napari_noisyfix.model.trainer.train` would (a generator)."""
    from ..model.checkpoints import load_checkpoint
    from ..model.oof import train_out_of_fold
    from ..model.versions import checkpoint_result

    version = yield from train_out_of_fold(project, config, folds)
    ckpt = load_checkpoint(project.model_dir(version))
    result = checkpoint_result(ckpt, ckpt.meta.get("best_epoch", -1))
    result.noise = ckpt.meta.get("noise")
    return result


def gap_recovered(results: dict, arm: str) -> float:
    """``(arm - ce_noisy) / (ce_clean - ce_noisy)`` of :func:`run_arms`' test Dice (nan: no gap)."""
    plain, clean = results["ce_noisy"]["test_dice"], results["ce_clean"]["test_dice"]
    gap = clean - plain
    return (results[arm]["test_dice"] - plain) / gap if gap > 0 else float("nan")
