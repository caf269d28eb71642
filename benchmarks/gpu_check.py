"""A user's training and scoring on a GPU, timed, with peak GPU memory (issue 16, part 4).

Imports DATA (a folder with ``images/`` and ``masks/``) into a scratch project, trains it as
``noisyfix train PROJECT`` does on that device (``--budget auto``: the standard plan on a GPU,
mixed precision on CUDA), scores it from the stored out-of-fold probabilities, scores it again
with decoder features and flip TTA (the predictor runs on the device for every image), and
times the bare forward pass. Writes ``OUT`` (JSON):

* ``train_s``, ``train_steps``, ``train_steps_per_s`` (every fold model and the final model),
  ``train.peak_gpu_mb``;
* ``analysis_s_per_image`` (``noisyfix score`` on the stored probabilities), ``forward_s_per_image``,
  ``score_to_forward`` = (forward + analysis) / forward, ``score_images_per_s`` = 1 / (forward +
  analysis);
* ``score_features_tta_s_per_image`` (forward with TTA and features, then the analysis),
  ``score.peak_gpu_mb``; the device's name and the torch version.

    python benchmarks/gpu_check.py /work/shared/data/dsb2018_nuclei_histo --device cuda \\
        --out OUT/gpu_check.json

``benchmarks/gpu_check.sh`` runs this and ``noisyfix benchmark`` on the device machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from napari_noisyfix.benchmark.results import write_results
from napari_noisyfix.benchmark.speed import forward_seconds, peak_gpu_mb
from napari_noisyfix.io.importer import import_project
from napari_noisyfix.model.budget import plan_training
from napari_noisyfix.model.oof import train_out_of_fold
from napari_noisyfix.progress import drive
from napari_noisyfix.quality.score import score_project


def _timed(job) -> float:
    start = time.perf_counter()
    drive(job, quiet=True)
    return time.perf_counter() - start


def _reset_peak() -> None:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.reset_peak_memory_stats()


def _write(results: dict, out: Path) -> None:
    """Write what is measured so far (a stage cut short by a time limit keeps the others)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    write_results(out, results, require=False)
    print(out.read_text(), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="folder with images/ and masks/")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--budget", default="auto", help="the train command's --budget")
    parser.add_argument("--forward-images", type=int, default=50)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    plan = plan_training(args.budget, {"device": args.device})
    results = {"data": str(args.data), "budget": plan.budget, "why": plan.why}
    results["torch"] = torch.__version__
    if torch.cuda.is_available():
        results["device_name"] = torch.cuda.get_device_name()
    with tempfile.TemporaryDirectory() as tmp:
        proj = import_project(args.data / "images", args.data / "masks", Path(tmp) / "p")
        n = len(proj.names)
        results.update(n_images=n, config=plan.config.to_dict(), folds=plan.folds)
        _write(results, args.out)
        results["train_s"] = _timed(train_out_of_fold(proj, plan.config, folds=plan.folds))
        results["train_steps"] = plan.steps()
        results["train_steps_per_s"] = plan.steps() / results["train_s"]
        results["train.peak_gpu_mb"] = peak_gpu_mb()
        _write(results, args.out)
        version = proj.latest_model_version()
        _reset_peak()
        analysis = _timed(score_project(proj, version, force=True)) / n
        forward = forward_seconds(proj, version, args.forward_images, args.device)
        results.update(analysis_s_per_image=analysis, forward_s_per_image=forward)
        results["score_to_forward"] = (forward + analysis) / forward
        results["score_images_per_s"] = 1.0 / (forward + analysis)
        _write(results, args.out)
        job = score_project(proj, version, force=True, tta=True, features=True)
        results["score_features_tta_s_per_image"] = _timed(job) / n
        results["score.peak_gpu_mb"] = peak_gpu_mb()
        proj.close()
    _write(results, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
