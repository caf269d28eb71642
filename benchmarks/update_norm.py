"""How much of an update's change in test Dice its batch-norm statistics alone carry.

For every version of a loop project (measure 5's ``loop/`` folder, or one
``benchmarks/loop_guard.py`` wrote), prints the test Dice of its final model, of its weights
with version 1's batch-norm statistics, and of version 1's weights with its statistics:

    python benchmarks/update_norm.py RUN DATA LOOP_PROJECT
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

from napari_noisyfix.benchmark.dataset import redraw
from napari_noisyfix.benchmark.results import read_results
from napari_noisyfix.benchmark.testset import TestSet, version_predictor
from napari_noisyfix.project import Project


def norm_statistics(model) -> dict:
    """The batch-norm buffers (running mean, variance, batch count) of ``model``."""
    return {k: b.clone() for k, b in model.named_buffers() if "running_" in k or "num_batches" in k}


def with_statistics(predictor, statistics: dict):
    """A copy of ``predictor`` whose model carries ``statistics``."""
    other = copy.deepcopy(predictor)
    state = other.model.state_dict()
    state.update(statistics)
    other.model.load_state_dict(state)
    return other


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="the finished benchmark run the loop started from")
    parser.add_argument("data", help="the data folder that run used")
    parser.add_argument("loop", help="the loop's project folder")
    args = parser.parse_args()
    everything, _, held_out = redraw(read_results(Path(args.run) / "results.json"), args.data)
    test = TestSet.of(everything, held_out)
    with Project.open(args.loop, "read") as project:
        predictors = {v: version_predictor(project, v) for v in project.model_versions()}
    first = predictors[1]
    print("| version | test Dice | its weights, v1's statistics | v1's weights, its statistics |")
    print("|---|---|---|---|")
    for version, predictor in predictors.items():
        own = test.dice(predictor)[0]
        if version == 1:
            print(f"| 1 | {own:.3f} | - | - |")
            continue
        mixed = test.dice(with_statistics(predictor, norm_statistics(first.model)))[0]
        moved = test.dice(with_statistics(first, norm_statistics(predictor.model)))[0]
        print(f"| {version} | {own:.3f} | {mixed:.3f} | {moved:.3f} |")


if __name__ == "__main__":
    main()
