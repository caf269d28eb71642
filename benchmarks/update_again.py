"""One update of a loop project again, from a chosen version, with the batch-norm choice and rate
given, and its test Dice.

Copies the loop project (measure 5's ``loop/`` folder, or one ``benchmarks/loop_guard.py`` wrote)
with the versions after ``--parent`` left out, updates it from the reviewed state the copy holds
(the last round's), guard off, and prints the new version's test Dice on the run's test split:

    python benchmarks/update_again.py RUN DATA LOOP --parent 2 --norm-stats frozen --lr 3e-4 --work /tmp/again
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from napari_noisyfix.benchmark.dataset import redraw
from napari_noisyfix.benchmark.results import read_results
from napari_noisyfix.benchmark.testset import TestSet, version_predictor
from napari_noisyfix.model import update
from napari_noisyfix.model.checkpoints import load_checkpoint
from napari_noisyfix.model.config import NORM_STATS
from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="the finished benchmark run the loop started from")
    parser.add_argument("data", help="the data folder that run used")
    parser.add_argument("loop", help="the loop's project folder (left untouched)")
    parser.add_argument("--parent", type=int, required=True, help="the version to update from")
    parser.add_argument("--norm-stats", choices=NORM_STATS, required=True)
    parser.add_argument("--lr", type=float, required=True, help="rate before the update's share")
    parser.add_argument("--work", required=True, help="new folder for the copy")
    args = parser.parse_args()
    everything, _, held_out = redraw(read_results(Path(args.run) / "results.json"), args.data)
    test = TestSet.of(everything, held_out)
    work = Path(args.work)
    shutil.copytree(args.loop, work)
    with Project.open(work, "read") as project:
        later = [v for v in project.model_versions() if v > args.parent]
    for version in later:
        for sub in (f"models/v{version:04d}", f"scores/v{version:04d}", f"v{version:04d}"):
            shutil.rmtree(work / sub, ignore_errors=True)
    with Project.open(work) as project:
        config = load_checkpoint(project.model_dir(args.parent)).config
        config = config.from_dict({**config.to_dict(), "lr": args.lr})
        job = update.update(project, guard=False, config=config, norm_stats=args.norm_stats)
        version = drive(job, desc="update")
        dice = test.dice(version_predictor(project, version))[0]
    print(
        f"from v{args.parent}, norm stats {args.norm_stats}, rate {args.lr:g} x "
        f"{update.UPDATE_LR_SHARE:g}: v{version} test Dice {dice:.3f}"
    )


if __name__ == "__main__":
    main()
