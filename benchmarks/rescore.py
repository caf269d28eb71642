"""Rerun measures 1 and 2 of a finished benchmark run with the current scoring code.

The run's stored out-of-fold probabilities are reused (no training), so a change to the quality
stage is compared with the run on identical probabilities. The noise is redrawn from the run's
recorded seed and noise types; a run on real noise (``--truth``) re-reads its recorded truth
folder:

    python benchmarks/rescore.py /tmp/bench/full/dsb2018_nuclei_fluo_noise0.5 \
        /work/shared/data/dsb2018_nuclei_fluo --out /tmp/rescored/fluo

``--calibration FIELD=VALUE`` (repeatable) changes one of the calibration's documented parameters
(:class:`~napari_noisyfix.quality.params.CalibrationParams`; the value is a Python literal), to
measure what it does on the same probabilities, e.g. ``--calibration "scales=(1,)"``.
"""

from __future__ import annotations

import argparse
import ast

from napari_noisyfix.benchmark.results import markdown_table
from napari_noisyfix.benchmark.run import rescore_benchmark
from napari_noisyfix.errors import NoisyFixError
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
    parser.add_argument(
        "--calibration",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a calibration parameter changed from its documented default (repeatable)",
    )
    args = parser.parse_args()
    changes = dict(_change(item) for item in args.calibration)
    if args.calibration_seed is not None:
        changes["seed"] = args.calibration_seed
    try:
        results = drive(rescore_benchmark(args.run, args.data, args.out, changes), desc="rescore")
    except NoisyFixError as exc:
        raise SystemExit(f"rescore: {exc}") from None
    print(markdown_table(results))


def _change(item: str) -> tuple[str, object]:
    key, sep, value = item.partition("=")
    if not sep:
        raise SystemExit(f"--calibration {item!r}: write FIELD=VALUE")
    try:
        return key.strip(), ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        raise SystemExit(f"--calibration {item!r}: {value!r} is not a Python literal") from None


if __name__ == "__main__":
    main()
