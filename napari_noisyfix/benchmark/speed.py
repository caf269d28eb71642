"""Measure 4, speed and memory, on the same run.

* ``speed.forward_s_per_image``: the bare forward pass of the final model (no TTA, no MC dropout),
  after a warm-up, on the budget's number of images;
* ``speed.analysis_s_per_image``: ``noisyfix score`` on the stored out-of-fold probabilities
  (maps, regions, outlier clustering, tables), per image;
* ``speed.score_s_per_image``: forward + analysis, what scoring costs on an image without stored
  probabilities, and ``speed.score_to_forward`` its ratio to the forward pass (the floor);
* ``speed.train_step_s``: median seconds of one step of the robust out-of-fold training
  (``speed.train_step_s.plain``: of the plain measure-3 runs);
* ``memory.peak_rss_mb``: peak resident memory of the process (``resource.getrusage``);
* ``memory.peak_gpu_mb``: the most GPU memory torch held allocated at once in this process (every
  training, scoring and update of the run; null on a run that never used a GPU).

CPU figures are for comparing ratios; absolute times count only on a GPU.
"""

from __future__ import annotations

import resource
import sys

import numpy as np


def forward_seconds(project, version: int, n_images: int, device: str) -> float:
    """Seconds per image of the bare forward pass of model ``version`` on the first images."""
    from ..model.predictor import Predictor

    predictor = Predictor.load(project.model_dir(version), device=device)
    images = [project.image(n) for n in project.names[: max(1, n_images)]]
    return float(predictor.time_forward(images))


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def peak_gpu_mb() -> float:
    """Peak GPU memory torch allocated in this process, in MiB, over every CUDA device it used;
    NaN when it used none."""
    import torch

    if not torch.cuda.is_available() or not torch.cuda.is_initialized():
        return float("nan")
    peaks = [torch.cuda.max_memory_allocated(i) for i in range(torch.cuda.device_count())]
    return max(peaks) / (1024.0 * 1024.0)


def median(values: list[float]) -> float:
    """Median of ``values`` (NaN when empty)."""
    return float(np.median(values)) if values else float("nan")


def speed_results(
    forward_s: float, analysis_s: float, step_times: list[float], cleanlab_s: float
) -> dict[str, float]:
    """Flat ``speed.*`` and ``memory.*`` keys (per-image seconds in, ratios computed here)."""
    score_s = forward_s + analysis_s
    return {
        "speed.forward_s_per_image": forward_s,
        "speed.analysis_s_per_image": analysis_s,
        "speed.score_s_per_image": score_s,
        "speed.score_to_forward": score_s / forward_s,
        "speed.cleanlab_s_per_image": cleanlab_s,
        "speed.cleanlab_to_forward": (forward_s + cleanlab_s) / forward_s,
        "speed.train_step_s": median(step_times),
        "memory.peak_rss_mb": peak_rss_mb(),
        "memory.peak_gpu_mb": peak_gpu_mb(),
    }
