"""Demo start to first screenshot, as a ratio to a bare napari window's screenshot in the same run.

Each repeat runs, in fresh processes and alternating: (1) a bare napari window of the demo's size,
settled as the launcher settles its window, rendered to a PNG; (2) ``noisyfix demo`` on a folder
that does not exist yet (it makes the sample project, installs the shipped model, scores and opens
the window), rendered to a PNG with ``--screenshot``. The time of each is from starting the process
to the PNG on disk (Python start and imports included; the file's modification time); the figure
is the ratio of the medians. The times to each process's exit are recorded beside them (``*_exit_s``):
they add the interpreter's shut-down, which the window's user does not wait for.

Run under an X server, e.g.::

    OMP_NUM_THREADS=1 xvfb-run -a -s "-screen 0 1920x1200x24" \\
        .venv/bin/python benchmarks/demo_start.py --repeats 3 --out bench_out/demo_start.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: A bare napari window, sized and settled exactly like the launcher's, then rendered.
BARE = """
import sys
import napari
from napari_noisyfix.gui.launch import WINDOW_SIZE, _settle, quiet_binding_notice
quiet_binding_notice()
viewer = napari.Viewer(title="bare")
viewer.window.resize(*WINDOW_SIZE)
viewer.window.show()
viewer.window.activate()
_settle()
_settle()
viewer.screenshot(sys.argv[1], canvas_only=False)
viewer.close()
"""


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, default=None, help="JSON file for the figures")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per run")
    return p.parse_args(argv)


def timed(command: list[str], png: Path, timeout: float) -> tuple[float, float]:
    """Seconds from starting ``command`` to its PNG on disk (the file's modification time), and
    to the process's exit (it must exit with 0). The process's exit comes later by the time the
    interpreter takes to shut down (tearing down torch alone takes about a second)."""
    start_wall, start = time.time(), time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - start
    if result.returncode != 0 or not png.is_file():
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return png.stat().st_mtime - start_wall, seconds


def one_round(tmp: Path, timeout: float) -> tuple[tuple, tuple]:
    """(bare napari, demo) seconds of one repeat: each (to the PNG, to the exit)."""
    bare_png, demo_png, project = tmp / "bare.png", tmp / "demo.png", tmp / "demo_project"
    for path in (bare_png, demo_png):
        path.unlink(missing_ok=True)
    shutil.rmtree(project, ignore_errors=True)
    bare = timed([sys.executable, "-c", BARE, str(bare_png)], bare_png, timeout)
    demo_cmd = [sys.executable, "-m", "napari_noisyfix.cli", "demo", "--project", str(project)]
    demo = timed([*demo_cmd, "--screenshot", str(demo_png)], demo_png, timeout)
    return bare, demo


def machine() -> dict:
    """What the figures depend on: cores, load, threads, display."""
    return {
        "cpus": os.cpu_count(),
        "load_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "display": os.environ.get("DISPLAY"),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    if not os.environ.get("DISPLAY"):
        raise SystemExit("no X display: run under xvfb-run (see the module docstring)")
    before = machine()
    bare, demo, bare_exit, demo_exit = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            (b, b_exit), (d, d_exit) = one_round(Path(tmp), args.timeout)
            bare.append(b)
            demo.append(d)
            bare_exit.append(b_exit)
            demo_exit.append(d_exit)
            print(
                f"repeat {i + 1}: bare napari {b:.1f} s (exit {b_exit:.1f} s), "
                f"demo {d:.1f} s (exit {d_exit:.1f} s)",
                flush=True,
            )
    result = {
        "bare_napari_s": bare,
        "demo_s": demo,
        "bare_exit_s": bare_exit,
        "demo_exit_s": demo_exit,
        "bare_median_s": statistics.median(bare),
        "demo_median_s": statistics.median(demo),
        "ratio": statistics.median(demo) / statistics.median(bare),
        "machine_before": before,
        "machine_after": machine(),
    }
    print(
        f"demo start -> screenshot {result['demo_median_s']:.1f} s, bare napari "
        f"{result['bare_median_s']:.1f} s: ratio {result['ratio']:.2f}x (target <= 3x)"
    )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
