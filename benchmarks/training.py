"""Measure 3 of the benchmark protocol (learning despite noise) with the speed figures.

Test Dice against the expert masks on held-out patients for plain CE on the noisy masks, the
robust recipe on the noisy masks and plain CE on the expert masks; seconds per training step and
per image. Writes OUT/results.json and prints the table.

    python benchmarks/training.py /work/shared/data/dsb2018_nuclei_fluo --budget fast --out /tmp/bench/training
"""

from __future__ import annotations

import argparse

from napari_noisyfix.benchmark.results import markdown_table
from napari_noisyfix.benchmark.run import run_benchmark
from napari_noisyfix.progress import drive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="folder with images/ and masks/")
    parser.add_argument("--noise", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", default="fast", choices=["tiny", "fast", "full"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    job = run_benchmark(
        args.data,
        args.out,
        args.noise,
        args.seed,
        args.budget,
        args.device,
        measures=("training", "speed"),
    )
    print(markdown_table(drive(job)))


if __name__ == "__main__":
    main()
