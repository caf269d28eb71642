"""Rerun measures 1 and 2 of a finished benchmark run with the current scoring code.

The run's stored out-of-fold probabilities are reused (no training), so a change to the quality
stage is compared with the run on identical probabilities. The noise is redrawn from the run's
recorded seed and noise types; a run on real noise (``--truth``) re-reads its recorded truth
folder:

    python benchmarks/rescore.py /tmp/bench/full/dsb2018_nuclei_fluo_noise0.5 \
        /work/shared/data/dsb2018_nuclei_fluo --out /tmp/rescored/fluo
"""

from __future__ import annotations

import argparse

from napari_noisyfix.benchmark.results import markdown_table
from napari_noisyfix.benchmark.run import rescore_benchmark
from napari_noisyfix.progress import drive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="output folder of `noisyfix benchmark`")
    parser.add_argument("data", help="the data folder that run used")
    parser.add_argument("--out", required=True, help="new folder for the rescored run")
    parser.add_argument(
        "--calibration-seed",
        type=int,
        default=None,
        help="seed of the calibration's planted errors (default: the documented parameters')",
    )
    args = parser.parse_args()
    results = drive(
        rescore_benchmark(args.run, args.data, args.out, args.calibration_seed), desc="rescore"
    )
    print(markdown_table(results))


if __name__ == "__main__":
    main()
