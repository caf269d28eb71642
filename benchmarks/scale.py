"""Large projects: peak memory and time of scoring, the review queue and the review session per N.

For every ``--n`` a synthetic sample project of N images (``--size`` pixels) is generated and a
first model trained briefly (2 folds + a final model, ``--train-steps`` steps each, the light
encoder) in one child process; a second child process then scores it, builds the review queue and
opens a review session, and reports its own peak resident memory (``getrusage``), so that the
figure is that of the work measured and of nothing before it. ``OUT/scale.json`` gets, per N::

    n<N>.peak_rss_mb         peak RSS of the scoring + queue + session process (and the peak
                             as it stood after scoring, after the queue; the build's apart)
    n<N>.score_s_per_image   wall seconds of ``score_project`` / N (stored out-of-fold probabilities)
    n<N>.queue_s             seconds to read the regions and build the ReviewQueue
    n<N>.open_session_s      seconds to open a ReviewSession (its first region and progress)
    n<N>.disk_mb_per_image   the project folder's size on disk / N
    n<N>.open_gui_s          seconds to open the scored project in the NoisyFix widget of a new
                             napari viewer, first frame drawn (a third child process, under
                             ``xvfb-run`` when there is no display; ``--no-gui`` skips it), and
                             that process's peak RSS as ``n<N>.gui_peak_rss_mb``

Example (the issue's run; a quick one is ``--n 200 1000 --size 64``)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/scale.py --n 1000 10000 --size 256 --out OUT
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEYS = ("peak_rss_mb", "score_s_per_image", "queue_s", "open_session_s", "disk_mb_per_image")


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, nargs="+", default=[1000, 10000], help="project sizes")
    p.add_argument("--size", type=int, default=256, help="image side in pixels")
    p.add_argument("--train-steps", type=int, default=2, help="steps of each model trained")
    p.add_argument("--out", required=True, help="folder for scale.json")
    p.add_argument("--workdir", help="folder for the projects (default: a temporary one)")
    p.add_argument("--no-gui", action="store_true", help="do not time opening it in napari")
    p.add_argument("--stage", choices=("build", "measure", "gui"), help=argparse.SUPPRESS)
    p.add_argument("--project", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    p.add_argument("--count", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def build(root: Path, n: int, size: int, train_steps: int):
    """Generate the sample project of ``n`` images and train its first model (no scoring)."""
    from napari_noisyfix.model.config import TrainConfig
    from napari_noisyfix.model.oof import train_out_of_fold
    from napari_noisyfix.progress import drive
    from napari_noisyfix.synth.sample import make_sample_project

    project = make_sample_project(root, n=n, size=size, seed=0)
    config = TrainConfig(
        encoder="mobilenetv3_small",
        epochs=1,
        steps_per_epoch=train_steps,
        batch_size=4,
        image_size=min(size, 128),  # crops of at least 64 px: --size 64 or more
        device="cpu",
        amp=False,
        seed=0,
    )
    drive(train_out_of_fold(project, config, folds=2), desc=f"train n={n}")
    return project


def measure(root: Path) -> dict:
    """Score the project at ``root``, build its queue and open a review session; the figures."""
    from napari_noisyfix.progress import drive
    from napari_noisyfix.project import Project
    from napari_noisyfix.quality.params import PARAMS
    from napari_noisyfix.quality.queue import ReviewQueue
    from napari_noisyfix.quality.score import load_regions, score_project
    from napari_noisyfix.review.session import ReviewSession

    project = Project.open(root)
    n = len(project.names)
    start = time.perf_counter()
    drive(score_project(project), desc=f"score n={n}")
    score_s = time.perf_counter() - start
    after_score = peak_rss_mb()
    start = time.perf_counter()
    # as the review session does: regions below the queue's bar are not made at all
    queue = ReviewQueue(load_regions(project, min_prob=PARAMS.queue.min_prob_correct))
    queue_s = time.perf_counter() - start
    after_queue = peak_rss_mb()
    start = time.perf_counter()
    session = ReviewSession(project, "scale benchmark")
    session.progress()
    open_s = time.perf_counter() - start
    return {
        "peak_rss_mb": peak_rss_mb(),
        "peak_rss_after_score_mb": after_score,
        "peak_rss_after_queue_mb": after_queue,
        "score_s_per_image": score_s / n,
        "queue_s": queue_s,
        "open_session_s": open_s,
        "disk_mb_per_image": folder_bytes(root) / 2**20 / n,
        "queued_regions": len(queue),
        "session_regions": len(session.regions),
    }


def open_gui(root: Path) -> dict:
    """Seconds to open the project at ``root`` in the NoisyFix widget of a new viewer, up to
    its first frame, and this process's peak RSS."""
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_noisyfix.gui.preload import preload_model_stack
    from napari_noisyfix.gui.widget import NoisyFixWidget

    viewer = napari.Viewer(show=True)
    widget = NoisyFixWidget(viewer)
    viewer.window.add_dock_widget(widget, name="NoisyFix review")
    QApplication.processEvents()
    # The widget's first show schedules the model-code preload (torch, seconds) on a timer that
    # would fire inside the timed window below; done now, the timer finds it done.
    preload_model_stack()
    start = time.perf_counter()
    if not widget.open_project(root, reviewer="scale benchmark"):
        raise SystemExit(f"{root}: the widget did not open the project")
    QApplication.processEvents()
    figures = {"open_gui_s": time.perf_counter() - start, "gui_peak_rss_mb": peak_rss_mb()}
    widget.teardown()
    viewer.close()
    return figures


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def folder_bytes(root: Path) -> int:
    """Bytes of every file under ``root``."""
    return sum(p.stat().st_size for p in Path(root).rglob("*") if p.is_file())


def _child(stage: str, root: Path, result: Path, args) -> dict:
    """Run one stage in a fresh interpreter (its memory is its own) and read its figures; the
    GUI stage runs under ``xvfb-run`` when there is no display."""
    direct = stage != "gui" or os.environ.get("DISPLAY") or not shutil.which("xvfb-run")
    cmd = [] if direct else ["xvfb-run", "-a"]
    cmd += [sys.executable, __file__, "--stage", stage, "--project", str(root)]
    cmd += ["--result", str(result), "--out", str(result.parent)]
    cmd += ["--count", str(args.count), "--size", str(args.size)]
    cmd += ["--train-steps", str(args.train_steps)]
    subprocess.run(cmd, check=True)
    return json.loads(result.read_text())


def run_stage(args) -> None:
    """The child's side of :func:`_child`."""
    root = Path(args.project)
    if args.stage == "build":
        build(root, args.count, args.size, args.train_steps)
        figures = {"build_peak_rss_mb": peak_rss_mb()}
    elif args.stage == "gui":
        figures = open_gui(root)
    else:
        figures = measure(root)
    Path(args.result).write_text(json.dumps(figures))


def flatten(per_n: dict[int, dict]) -> dict:
    """``{N: figures}`` as the flat ``n<N>.<key>`` table of scale.json."""
    return {f"n{n}.{k}": round(v, 6) for n, fig in per_n.items() for k, v in fig.items()}


def main(argv=None) -> dict:
    """Build, measure and write ``OUT/scale.json``; returns its contents."""
    args = parse_args(argv)
    if args.stage:
        run_stage(args)
        return {}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    per_n = {}
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        for n in args.n:
            args.count, root = n, Path(tmp) / f"n{n}"
            built = _child("build", root, Path(tmp) / f"build{n}.json", args)
            per_n[n] = {**_child("measure", root, Path(tmp) / f"measure{n}.json", args), **built}
            if not args.no_gui:
                per_n[n].update(_child("gui", root, Path(tmp) / f"gui{n}.json", args))
            print(json.dumps({n: per_n[n]}), flush=True)
    table = {
        **flatten(per_n),
        "size": args.size,
        "train_steps": args.train_steps,
        "threads": os.environ.get("OMP_NUM_THREADS", ""),
    }
    (out / "scale.json").write_text(json.dumps(table, indent=2) + "\n")
    return table


if __name__ == "__main__":
    main()
