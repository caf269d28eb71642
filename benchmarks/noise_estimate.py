"""The adaptive recipe's noise estimate on a finished benchmark run's out-of-fold probabilities.

For each run folder (``noisyfix benchmark --out``): the estimate and the strength it would set,
once with the project's given (noisy) masks as the labels and once with the hidden expert masks,
under the same stored out-of-fold probabilities. A sound estimate gives near 0 on the expert
masks and more the noisier the given ones. No training; seconds per run.

    python benchmarks/noise_estimate.py /tmp/nf/final/dsb2018_nuclei_fluo_noise0.5_realistic ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.noise_level import estimate_noise, pixel_maps
from napari_noisyfix.project import Project


def estimate(project, version: int, labels_of):
    """The estimate of ``version``'s stored probabilities against ``labels_of(name)``."""
    threshold = TrainConfig().filter_threshold
    maps = []
    for name in project.names:
        probs = project.load_probs(name, version).astype(np.float32)
        mask = labels_of(name).astype(np.int64)
        maps.append(pixel_maps(probs, mask, np.zeros(mask.shape, dtype=bool)))
    return estimate_noise(maps, threshold, 1.0, "out-of-fold")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="benchmark output folders")
    args = parser.parse_args()
    print("| run | labels | contradicted | expected | noise | minority share | strength |")
    print("|---|---|---|---|---|---|---|")
    for run in args.runs:
        project = Project.open(Path(run) / "project")
        version = project.latest_model_version()
        for kind, labels_of in (("given", project.mask), ("expert", project.truth)):
            e = estimate(project, version, labels_of)
            print(
                f"| {Path(run).name} | {kind} | {e.contradicted:.4f} | {e.expected:.4f} | "
                f"{e.noise:.4f} | {e.minority:.3f} | {e.strength:.3f} |"
            )


if __name__ == "__main__":
    main()
