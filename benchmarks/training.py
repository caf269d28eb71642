"""Measure 3 of the benchmark protocol (learning despite noise) with the speed figures.

Default: the full benchmark's training and speed measures (test Dice against the expert masks
on held-out patients for plain CE on the noisy masks, the default recipe's out-of-fold model and
plain CE on the expert masks; seconds per training step). Writes OUT/results.json.

With ``--arms``: only measure 3, each named recipe trained once on the same project (no
out-of-fold run, no scoring), tested on the same held-out patients; writes OUT/arms.json and
prints one row per arm with the share of the noisy-to-clean gap it recovers.

    python benchmarks/training.py /work/shared/data/dsb2018_nuclei_fluo --budget fast --out /tmp/bench/training
    python benchmarks/training.py /work/shared/data/dsb2018_nuclei_fluo --noise-types realistic \\
        --arms ce_noisy,robust_fixed,adaptive,adaptive_oof,tloss,gce,sce,mixmatch,ce_clean --out /tmp/bench/arms

``adaptive_oof`` trains as ``noisyfix train`` does (the budget's folds, then the final model,
whose adaptive strength comes from the folds' out-of-fold predictions) and tests the final model.

``--encoder``, ``--epochs`` and ``--steps`` shorten the arms' schedule where the budget's does not
fit the machine (every arm of a run gets the same).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from napari_noisyfix.benchmark.budget import get_budget
from napari_noisyfix.benchmark.dataset import build_project, hold_out_test, prepare
from napari_noisyfix.benchmark.results import markdown_table
from napari_noisyfix.benchmark.run import describe_device, run_benchmark
from napari_noisyfix.benchmark.testset import TestSet
from napari_noisyfix.benchmark.training import ARMS, gap_recovered, run_arms
from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.progress import drive


def arms_job(args):
    """Prepare the run's data as the benchmark does, then train and test every arm."""
    arms = args.arms.split(",")
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        raise NoisyFixError(f"unknown arms {unknown}; choose from {list(ARMS)}")
    plan = get_budget(args.budget)
    everything = prepare(args.data, args.noise, args.seed, plan.size, args.noise_types, None)
    kept, held_out = hold_out_test(everything, args.seed)
    data, test = everything.subset(kept), TestSet.of(everything, held_out)
    out = Path(args.out)
    projects = {
        "noisy": build_project(data, out / "project"),
        "clean": build_project(data, out / "clean_labels", truth_as_labels=True),
    }
    overrides = plan.train_overrides(args.device, args.seed)
    given = {"encoder": args.encoder, "epochs": args.epochs, "steps_per_epoch": args.steps}
    overrides.update({k: v for k, v in given.items() if v is not None})
    return (yield from run_arms(projects, overrides, test, arms, out, plan.folds))


def print_arms(results: dict, device: str) -> None:
    """One markdown row per arm: test Dice, gap recovered, the strength it chose."""
    print(f"device: {device}")
    print("| arm | test Dice (mean +- sd over images) | gap recovered | strength |")
    print("|---|---|---|---|")
    can_gap = "ce_noisy" in results and "ce_clean" in results
    for arm, r in results.items():
        gap = f"{gap_recovered(results, arm):.0%}" if can_gap else "n/a"
        nu = f"; T-Loss nu {r['tloss_nu']:.3g}" if r["tloss_nu"] is not None else ""
        print(
            f"| {arm} | {r['test_dice']:.4f} +- {r['test_dice_sd']:.3f} | {gap} | {r['strength']}{nu} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="folder with images/ and masks/")
    parser.add_argument("--noise", type=float, default=0.5)
    parser.add_argument("--noise-types", default="protocol")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", default="fast", choices=["tiny", "fast", "full"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--arms", help=f"comma list of measure-3 arms from {', '.join(ARMS)}")
    parser.add_argument("--encoder", help="with --arms: encoder instead of the default (resnet18)")
    parser.add_argument("--epochs", type=int, help="with --arms: epochs instead of the budget's")
    parser.add_argument("--steps", type=int, help="with --arms: steps per epoch (budget's)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.arms:
        print_arms(drive(arms_job(args)), describe_device(args.device))
        return
    job = run_benchmark(
        args.data,
        args.out,
        args.noise,
        args.seed,
        args.budget,
        args.device,
        measures=("training", "speed"),
        noise_types=args.noise_types,
    )
    print(markdown_table(drive(job)))


if __name__ == "__main__":
    main()
