"""Measure 1 of the benchmark protocol (finding errors) at several noise levels and datasets.

For every DATA folder and noise level: corrupt the masks (noise types ``--noise-types``), train
out-of-fold with the robust recipe, score, and compare the tool with cleanlab on the same
probabilities. Each run writes OUT/<dataset>_noise<alpha>/results.json (with other noise types
than the protocol's, OUT/<dataset>_noise<alpha>_<types>/, a comma list joined by '+'); the table
over all runs is printed at the end.

    python benchmarks/detection.py /work/shared/data/dsb2018_nuclei_fluo \
        /work/shared/data/dsb2018_nuclei_histo --noise 0.3 0.5 0.7 --budget fast --out /tmp/bench/detection
    python benchmarks/detection.py /work/shared/data/dsb2018_nuclei_fluo --noise 0.5 \
        --noise-types realistic --budget fast --out /tmp/bench/detection
"""

from __future__ import annotations

import argparse
from pathlib import Path

from napari_noisyfix.benchmark.dataset import noise_types
from napari_noisyfix.benchmark.run import run_benchmark
from napari_noisyfix.benchmark.summary import auroc_by_type_table, collect, detection_table
from napari_noisyfix.progress import drive


def run_folder(data: str, noise: float, types: str) -> str:
    """The output sub-folder of one run: ``<dataset>_noise<alpha>``, plus ``_<types>`` (a comma
    list joined by '+') when the noise types are not the protocol's."""
    name = f"{Path(data).resolve().name}_noise{noise}"
    return name if types == "protocol" else f"{name}_{types.replace(',', '+')}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="+", help="folders with images/ and masks/")
    parser.add_argument("--noise", type=float, nargs="+", default=[0.3, 0.5, 0.7])
    parser.add_argument(
        "--noise-types",
        default="protocol",
        help="protocol (default), realistic, all, or a comma list of noise type names",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", default="fast", choices=["tiny", "fast", "full"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    types = noise_types(args.noise_types)
    for data in args.data:
        for noise in args.noise:
            out = Path(args.out) / run_folder(data, noise, types)
            job = run_benchmark(
                data, out, noise, args.seed, args.budget, args.device, (), noise_types=types
            )
            drive(job, desc=f"{Path(data).name} noise {noise} {types}")
    runs = collect([args.out])
    print(detection_table(runs))
    print(auroc_by_type_table(runs))


if __name__ == "__main__":
    main()
