"""How the update's learning rate trades model gain against hiding the errors still left.

Copies a finished benchmark run's scored project (``RUN/project``), walks the first 10% of its
queue with measure 2's simulated reviewer, then runs ``update`` (default steps) with the
checkpoint's learning rate times each share, and prints per share: pixel AP of ``1 - p(given
label)`` for the errors still in the working masks, under the old and the updated stored
(out-of-fold) probabilities, the models' mean foreground probability, and the test Dice of the
final model on the run's held-out split. An arm ``F:K`` gives the final model ``F`` times the
checkpoint's rate and the fold models ``K`` times the final model's; each arm runs once per seed
of the update's training, and the table gives the mean and the spread over seeds.

    python benchmarks/update_lr.py RUN DATA --arms 1.0:1.0 1.0:0.2 --seeds 0 1 --out /tmp/update_lr
"""

from __future__ import annotations

import argparse
import math
import shutil
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

from napari_noisyfix.benchmark import detection, review_sim
from napari_noisyfix.benchmark.dataset import hold_out_test, prepare
from napari_noisyfix.benchmark.results import read_results
from napari_noisyfix.benchmark.testset import TestSet, version_predictor
from napari_noisyfix.model.checkpoints import load_checkpoint
from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.update import update
from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project
from napari_noisyfix.quality.score import load_regions
from napari_noisyfix.review.session import order_regions


def remaining_ap(project, version: int) -> tuple[float, float]:
    """Pixel AP of 1 - p(given) for the remaining errors, and the mean foreground probability."""
    probs, given, truth = detection.stack(project, version)
    probs, errors = probs.astype(np.float32), given != truth
    p_given = np.take_along_axis(probs, given[:, None].astype(np.int64), 1)[:, 0]
    return float(average_precision_score(errors.ravel(), (1 - p_given).ravel())), float(
        probs[:, 1].mean()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="output folder of a finished noisyfix benchmark run")
    parser.add_argument("data", help="the data folder that run used")
    parser.add_argument("--arms", nargs="+", default=["1.0:1.0", "1.0:0.2"], help="FINAL:FOLD")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    before = read_results(Path(args.run) / "results.json")
    seed, kinds = int(before["noise.seed"]), before.get("noise.types", "protocol")
    data = prepare(args.data, before["noise.fraction"], seed, 128, kinds)
    test = TestSet.of(data, hold_out_test(data, seed)[1])
    print(
        "| final lr share | fold lr share | remaining AP before | after | mean p(fg) before "
        "| after | test Dice before | after |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for arm in args.arms:
        final, fold = (float(x) for x in arm.split(":"))
        rows = [run_arm(args, test, final, fold, seed) for seed in args.seeds]
        cells = [_spread([r[i] for r in rows]) for i in range(6)]
        print(f"| {final} | {fold} | " + " | ".join(cells) + " |")


def _spread(values: list[float]) -> str:
    """``mean ± half the range`` over seeds (the mean alone for one seed)."""
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{np.mean(values):.3f} ± {np.ptp(values) / 2:.3f}"


def run_arm(args, test, final: float, fold: float, seed: int) -> tuple:
    """One update of a copy of the run's project; returns the table's six figures."""
    root = Path(args.out) / f"lr{final}_{fold}_s{seed}"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(Path(args.run) / "project", root, ignore=shutil.ignore_patterns(".lock"))
    project = Project.open(root)
    truth = {n: project.truth(n) for n in project.names}
    regions = order_regions(load_regions(project, 1))
    walk = review_sim.simulate(project, regions, None, truth, math.ceil(0.1 * len(regions)), 1)
    drive(walk, quiet=True)
    ckpt = load_checkpoint(project.model_dir(1))
    config = TrainConfig.from_dict({**ckpt.config.to_dict(), "seed": seed})
    new = drive(update(project, config=config, lr_share=final, fold_lr_share=fold), quiet=True)
    (ap0, fg0), (ap1, fg1) = remaining_ap(project, 1), remaining_ap(project, new)
    d0 = test.dice(version_predictor(project, 1, "cpu"))[0]
    d1 = test.dice(version_predictor(project, new, "cpu"))[0]
    project.close()
    return ap0, ap1, fg0, fg1, d0, d1


if __name__ == "__main__":
    main()
