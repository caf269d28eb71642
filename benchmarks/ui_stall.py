"""Longest UI stall while a retrain (model update + rescoring) runs behind the NoisyFix widget.

A QTimer fires every ``--interval-ms`` on the Qt event loop; the largest gap between two firings,
minus the interval, is the longest time the UI could not react. The run also reports the time from
pressing Retrain to refreshed overlays (new proposal, heatmaps, regions and queue on screen).

Run under an X server, e.g.::

    OMP_NUM_THREADS=1 xvfb-run -a -s "-screen 0 1600x1000x24" \\
        .venv/bin/python benchmarks/ui_stall.py --n 24 --size 128 --steps 20

Without ``--project`` a sample project is generated in a temporary folder and a first model is
trained with a small CPU budget (``--train-steps``) before the measurement starts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--project", help="a trained and scored project (copied, not modified)")
    p.add_argument("--n", type=int, default=24, help="sample images when no project is given")
    p.add_argument("--size", type=int, default=128, help="sample image side")
    p.add_argument("--train-steps", type=int, default=10, help="steps of the first model")
    p.add_argument("--steps", type=int, default=20, help="retrain (update) steps")
    p.add_argument("--accept", type=int, default=3, help="regions accepted before retraining")
    p.add_argument("--interval-ms", type=float, default=10.0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the refresh")
    p.add_argument(
        "--baseline", type=float, default=20.0, help="seconds probed with no job running first"
    )
    p.add_argument("--out", help="write the figures as JSON here")
    return p.parse_args(argv)


def prepare(args, workdir: Path):
    """A project with a model and scores: a copy of ``--project`` or a fresh trained sample."""
    import shutil

    from napari_noisyfix.model.config import TrainConfig
    from napari_noisyfix.progress import drive
    from napari_noisyfix.project import Project
    from napari_noisyfix.review.jobs import train_job
    from napari_noisyfix.synth.sample import make_sample_project

    config = TrainConfig(
        epochs=1, steps_per_epoch=args.train_steps, batch_size=4, device=args.device, seed=0
    )
    if args.project:
        return Project.open(shutil.copytree(args.project, workdir / "project")), config
    project = make_sample_project(workdir / "project", n=args.n, size=args.size, seed=0)
    drive(train_job(project, folds=2, config=config), desc="first model")
    return project, config


class StallProbe:
    """Records the gaps between firings of a repeating QTimer."""

    def __init__(self, interval_ms: float):
        from qtpy.QtCore import QTimer

        self.interval = interval_ms / 1000
        self.stamps: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(int(interval_ms))
        self.timer.timeout.connect(lambda: self.stamps.append(time.perf_counter()))

    def start(self) -> None:
        """Start recording."""
        self.stamps = [time.perf_counter()]
        self.timer.start()

    def stop(self) -> np.ndarray:
        """Stop and return the stalls (gap minus interval, seconds)."""
        self.timer.stop()
        self.stamps.append(time.perf_counter())
        return np.maximum(np.diff(self.stamps) - self.interval, 0.0)


def wait_until(predicate, timeout: float) -> bool:
    """Run the Qt event loop until ``predicate()`` holds (True) or ``timeout`` seconds pass."""
    from qtpy.QtWidgets import QApplication

    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        QApplication.processEvents()
        if predicate():
            return True
        time.sleep(0.001)
    return False


def frame_cost(viewer, repeats: int = 5) -> tuple[float, str]:
    """Median milliseconds of one canvas repaint with nothing changed, and the OpenGL renderer.

    No refresh can stall the interface for less than one frame: under Xvfb the renderer is
    software (llvmpipe), where one frame of a large window takes longer than the stall target.
    """
    from qtpy.QtWidgets import QApplication
    from vispy import gloo

    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        viewer.layers[0].refresh()
        QApplication.processEvents()
        times.append(time.perf_counter() - start)
    return round(float(np.median(times)) * 1000, 1), str(
        gloo.gl.glGetParameter(gloo.gl.GL_RENDERER)
    )


def measure(project, config, args) -> dict:
    """Open the widget, accept a few regions, press Retrain and probe the event loop."""
    import napari

    from napari_noisyfix.gui.launch import dock
    from napari_noisyfix.gui.preload import preload_model_stack

    preload_model_stack()  # as the widget does once it shows
    viewer = napari.Viewer()
    widget = dock(viewer)
    widget.open_project(project, reviewer="benchmark")
    c = widget.controller
    c.train_config, c.retrain_steps = config, args.steps
    for _ in range(args.accept):
        c.accept()
    wait_until(lambda: False, 1.0)
    version, refreshed = c.session.version, c.refreshed_at
    probe = StallProbe(args.interval_ms)
    probe.start()
    wait_until(lambda: False, args.baseline)
    idle = probe.stop()
    frame_ms, renderer = frame_cost(viewer)
    probe.start()
    pressed = time.perf_counter()
    c.retrain()
    ok = wait_until(lambda: c.refreshed_at != refreshed and not c.runner.busy, args.timeout)
    stalls = probe.stop()
    result = {
        "images": len(project.names),
        "image_size": list(project.entry(project.names[0])["shape"]),
        "retrain_steps": args.steps,
        "finished": ok,
        "version_before": version,
        "version_after": c.session.version,
        "retrain_to_refresh_s": round(c.refreshed_at - pressed, 2) if ok else None,
        "longest_stall_ms": round(float(stalls.max()) * 1000, 1),
        "p99_stall_ms": round(float(np.percentile(stalls, 99)) * 1000, 1),
        "stalls_over_100ms": int((stalls > 0.1).sum()),
        "probe_ticks": len(stalls),
        "idle_longest_stall_ms": round(float(idle.max()) * 1000, 1),
        "frame_ms": frame_ms,
        "renderer": renderer,
        "idle_p99_stall_ms": round(float(np.percentile(idle, 99)) * 1000, 1),
        "stalls_over_100ms_at_s_ms": [
            (round(t - pressed, 2), round(s * 1000))
            for t, s in zip(probe.stamps[1:], stalls, strict=True)
            if s > 0.1
        ],
    }
    viewer.close()
    return result


def main(argv=None) -> int:
    """Run the benchmark and print its figures as JSON."""
    import torch

    args = parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        project, config = prepare(args, Path(tmp))
        result = measure(project, config, args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0 if result["finished"] else 1


if __name__ == "__main__":
    sys.exit(main())
