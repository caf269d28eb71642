"""Measure 5 again on a finished benchmark run, with or without the update guard.

Copies the run's scored project (``RUN/project``, version 1, as measures 1-4 left it) and runs
measure 5's rounds (:func:`napari_noisyfix.benchmark.loop.run_loop`) on it, leaving out the
full-retrain arm (it takes four times as long; the run's own ``.full_retrain`` figures are
printed beside for reference, from masks reviewed under the run's own updates). Prints per round
the test Dice before and after the update, the remaining-error AP, the update's time and what the
guard kept, with each model's judgement.

    python benchmarks/loop_guard.py RUN DATA --guard on --out /tmp/loop_guard [--norm-stats project]

``--reviewed-in-full N`` gives the copy, before round 1, N seeded images reviewed in full (their
true masks, every pixel reviewed), so that the guard has whole trusted images to judge on;
``--judge regions`` makes it judge on the reviewed regions all the same (for comparison).

``--strategy mixmatch`` first trains a new out-of-fold version of the copy with that recipe
(the default of ``noisyfix train``; the run's own version was trained with the fixed robust
recipe), timed, scores it, and runs the rounds from it: the updates then resume MixMatch models,
and their time is printed against that training's (``update_to_train``; a full retrain runs the
same schedule).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from napari_noisyfix.benchmark.budget import get_budget
from napari_noisyfix.benchmark.dataset import redraw
from napari_noisyfix.benchmark.loop import copy_project, run_loop
from napari_noisyfix.benchmark.results import read_results
from napari_noisyfix.benchmark.run import train_configs
from napari_noisyfix.benchmark.testset import TestSet
from napari_noisyfix.model import update, update_guard
from napari_noisyfix.model.checkpoints import load_checkpoint
from napari_noisyfix.model.config import NORM_STATS, TrainConfig
from napari_noisyfix.model.oof import train_out_of_fold
from napari_noisyfix.model.update_guard import record_text
from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project
from napari_noisyfix.quality.score import score_project

ROWS = (
    "reviewed_share",
    "label_dice",
    "test_dice.before",
    "test_dice.after_update",
    "remaining.pixel_ap.before",
    "remaining.pixel_ap.after_update",
    "update_s",
    "update_to_train",
    "guard_kept",
    "guard_kept_folds",
    "guard_judged",
    "guard_whole",
)


def review_in_full(project, truth: dict, n: int, seed: int) -> list[str]:
    """Give ``n`` seeded images of ``project`` their true masks, every pixel reviewed."""
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(project.names, size=n, replace=False).tolist())
    for name in chosen:
        project.save_mask(name, truth[name])
        project.set_reviewed(name, np.ones(truth[name].shape, bool))
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="output folder of a finished noisyfix benchmark run")
    parser.add_argument("data", help="the data folder that run used")
    parser.add_argument("--guard", choices=("on", "off"), default="on")
    parser.add_argument(
        "--norm-stats",
        choices=NORM_STATS,
        default=update.NORM_STATS,
        help="where the updates' batch-norm statistics come from (default: update.NORM_STATS)",
    )
    parser.add_argument(
        "--reviewed-in-full", type=int, default=0, metavar="N", help="images reviewed in full first"
    )
    parser.add_argument(
        "--judge",
        choices=("auto", "regions"),
        default="auto",
        help="auto: the guard's own choice; regions: judge on the reviewed regions only",
    )
    parser.add_argument(
        "--strategy",
        choices=("robust", "mixmatch"),
        default="robust",
        help="robust: the run's own version; mixmatch: train one with MixMatch first (timed)",
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    update.NORM_STATS = args.norm_stats  # read by update_config at each update
    if args.judge == "regions":  # never enough whole images: the region judge
        update_guard.MIN_WHOLE_IMAGES = 10**9
    before = read_results(Path(args.run) / "results.json")
    seed, plan = int(before["noise.seed"]), get_budget(before.get("budget", "fast"))
    everything, kept, held_out = redraw(before, args.data)
    data, test = everything.subset(kept), TestSet.of(everything, held_out)
    config = train_configs(plan, "cpu", seed)["robust"]
    out = Path(args.out)
    project = copy_project(Project.open(Path(args.run) / "project", "read"), out / "loop")
    if args.reviewed_in_full:
        full = review_in_full(project, data.stored_truth, args.reviewed_in_full, seed)
        print(f"reviewed in full before round 1: {len(full)} images")
    version, train_s = 1, None
    if args.strategy == "mixmatch":
        config = TrainConfig(**{**plan.train_overrides("cpu", seed), "strategy": "mixmatch"})
        start = time.perf_counter()
        version = drive(train_out_of_fold(project, config, plan.folds), desc="train mixmatch")
        train_s = time.perf_counter() - start
        drive(score_project(project, version), desc="score")
        print(
            f"MixMatch out-of-fold training ({plan.folds} folds and the final model): {train_s:.1f} s"
        )
    job = run_loop(project, version, data, test, config, plan.folds, out, False, args.guard == "on")
    results, _ = drive(job)
    if train_s:
        for k in (1, 2):
            share = results.get(f"loop.round{k}.update_s", float("nan")) / train_s
            results[f"loop.round{k}.update_to_train"] = share
    what = f"guard {args.guard}, judge {args.judge}, norm stats {args.norm_stats}"
    what += f", strategy {args.strategy}"
    print(f"| loop ({what}) | round 1 | round 2 |")
    print("|---|---|---|")
    for key in ROWS:
        cells = [f"{results.get(f'loop.round{k}.{key}', float('nan')):.3f}" for k in (1, 2)]
        print(f"| {key} | {' | '.join(cells)} |")
    full = [before.get(f"loop.round{k}.test_dice.full_retrain", float("nan")) for k in (1, 2)]
    print(f"the run's own full retrain (RUN/results.json): {full[0]:.3f}, {full[1]:.3f}")
    for updated in [v for v in project.model_versions() if v > version]:
        guard = load_checkpoint(project.model_dir(updated)).meta.get("guard", {"on": False})
        print(f"version {updated}:")
        print("\n".join(record_text(guard)))


if __name__ == "__main__":
    main()
