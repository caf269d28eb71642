"""Print the BENCHMARKS.md tables from finished runs: every results.json under the given folders.

python benchmarks/summarize.py /tmp/bench
"""

from __future__ import annotations

import argparse

from napari_noisyfix.benchmark.results import REQUIRED, markdown_table
from napari_noisyfix.benchmark.summary import (
    auroc_by_type_table,
    collect,
    detection_table,
    noise_label,
    review_curve_table,
    review_table,
    run_facts,
    targets_table,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+")
    args = parser.parse_args()
    runs = collect(args.folders)
    print("## Runs\n\n" + run_facts(runs))
    print("## Measure 1: finding errors\n\n" + detection_table(runs))
    print("Image AUROC by noise type (ours / cleanlab):\n\n" + auroc_by_type_table(runs))
    print("## Measure 2: fixing errors fast\n\n" + review_table(runs))
    print("Label Dice after review actions per image, by order:\n\n" + review_curve_table(runs))
    print("## Protocol targets at noise 0.5\n\n" + targets_table(runs))
    for r in runs:
        if all(k in r for k in REQUIRED):
            print(f"## Full protocol: {r['dataset']}, noise {noise_label(r)}\n")
            print(markdown_table(r))


if __name__ == "__main__":
    main()
