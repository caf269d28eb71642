"""Measure 1 of the benchmark protocol (finding errors) at several noise levels and datasets.

For every DATA folder and noise level: corrupt the masks, train out-of-fold with the robust
recipe, score, and compare the tool with cleanlab on the same probabilities. Each run writes
OUT/<dataset>_noise<alpha>/results.json; the table over all runs is printed at the end.

    python benchmarks/detection.py /work/shared/data/dsb2018_nuclei_fluo \
        /work/shared/data/dsb2018_nuclei_histo --noise 0.3 0.5 0.7 --budget fast --out /tmp/bench/detection
"""

from __future__ import annotations

import argparse
from pathlib import Path

from napari_noisyfix.benchmark.run import run_benchmark
from napari_noisyfix.benchmark.summary import auroc_by_type_table, collect, detection_table
from napari_noisyfix.progress import drive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="+", help="folders with images/ and masks/")
    parser.add_argument("--noise", type=float, nargs="+", default=[0.3, 0.5, 0.7])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", default="fast", choices=["tiny", "fast", "full"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    for data in args.data:
        for noise in args.noise:
            out = Path(args.out) / f"{Path(data).resolve().name}_noise{noise}"
            job = run_benchmark(data, out, noise, args.seed, args.budget, args.device, measures=())
            drive(job, desc=f"{Path(data).name} noise {noise}")
    runs = collect([args.out])
    print(detection_table(runs))
    print(auroc_by_type_table(runs))


if __name__ == "__main__":
    main()
