"""Scoring time against the forward pass, in one process and in a pool of workers (issue 16).

Copies a scored project (its images, masks, stored out-of-fold probabilities and models) to a
scratch folder and, for each number of workers, scores it again from scratch
(``score_project(force=True)``: maps, regions, calibration, outliers, tables), then times the
bare forward pass of its newest model on the same machine, as measure 4 of ``noisyfix
benchmark`` does. Prints and writes ``OUT`` (JSON) with, per worker count, the analysis seconds
per image and ``score_to_forward`` = (forward + analysis) / forward, and whether the tables
came out identical to the first run's. Repeat a count to interleave runs on a busy machine
(``--workers 1,2,1,2``).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/score_speed.py RUN/project --workers 1,2 \\
        --out bench_out/score_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from napari_noisyfix.benchmark.speed import forward_seconds
from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project
from napari_noisyfix.quality.pool import ENV
from napari_noisyfix.quality.score import score_project

TABLES = ("image_scores.csv", "regions.csv")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="a scored project (stored probabilities)")
    parser.add_argument("--workers", default="1,2", help="worker counts, one run each, in order")
    parser.add_argument("--forward-images", type=int, default=32)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    results, tables = [], None
    with tempfile.TemporaryDirectory(prefix="score_speed_") as tmp:
        for k, workers in enumerate(int(w) for w in args.workers.split(",")):
            copy = Path(tmp) / f"run{k}"
            shutil.copytree(args.project, copy, ignore=shutil.ignore_patterns("*.lock"))
            project = Project.open(copy)
            os.environ[ENV] = str(workers)
            start = time.perf_counter()
            drive(score_project(project, force=True), desc=f"score, {workers} worker(s)")
            seconds = time.perf_counter() - start
            version = project.latest_model_version()
            ours = {t: (project.scores_dir(version) / t).read_text() for t in TABLES}
            tables = tables or ours
            forward = forward_seconds(project, version, args.forward_images, "cpu")
            analysis = seconds / len(project.names)
            results.append(
                {
                    "workers": workers,
                    "images": len(project.names),
                    "score_s": seconds,
                    "analysis_s_per_image": analysis,
                    "forward_s_per_image": forward,
                    "score_to_forward": (forward + analysis) / forward,
                    "tables_identical_to_first": ours == tables,
                }
            )
            project.close()
            shutil.rmtree(copy)
            print(json.dumps(results[-1]), flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
