"""A plain ``napari`` window under software OpenGL (Xvfb: Mesa's llvmpipe brings its LLVM) with
triton installed: the widget's Train and then Retrain, in a fresh process where nothing imported
torch before the window. Before triton was loaded by the gui package, that process segfaulted."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from napari_noisyfix.synth.sample import make_sample_project

CHILD = Path(__file__).with_name("plain_window_jobs.py")
REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="needs triton")
@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs a display (xvfb-run)")
def test_train_and_retrain_from_a_plain_window_survive_software_gl(tmp_path):
    project = make_sample_project(tmp_path / "p", n=4, size=64, seed=0, noise=1.0)
    project.close()
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    run = subprocess.run(
        [sys.executable, str(CHILD), str(project.root)],
        capture_output=True,
        text=True,
        timeout=400,
        env={**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"},
    )
    assert run.returncode == 0, f"exit {run.returncode}: {run.stderr[-3000:]}"
    out = json.loads(run.stdout.strip().splitlines()[-1])
    if not out["llvm_first"]:
        pytest.skip("this display's OpenGL brought no LLVM into the process")
    assert out["loaded_before"] == []  # torch came after the window, as from a shell
    assert out["dynamo"]  # the optimizers' torch._dynamo import happened after OpenGL
    assert (out["trained"], out["retrained"]) == (1, 2)
    assert out["status"] == "retrain: done"
