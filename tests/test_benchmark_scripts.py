"""The benchmark scripts (benchmarks/*.py) and the `noisyfix benchmark` options."""

import importlib.util
import sys
from pathlib import Path

import pytest

from napari_noisyfix.benchmark.results import REQUIRED, write_results

SCRIPTS = Path(__file__).resolve().parents[1] / "benchmarks"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_detection_folders_name_the_noise_types_unless_protocol():
    run_folder = _script("detection").run_folder
    assert run_folder("/data/fluo", 0.5, "protocol") == "fluo_noise0.5"
    assert run_folder("/data/fluo", 0.3, "realistic") == "fluo_noise0.3_realistic"
    assert run_folder("/data/fluo", 0.5, "drop,add") == "fluo_noise0.5_drop+add"


def test_summarize_prints_the_measure_2_tables(tmp_path, monkeypatch, capsys):
    r = dict.fromkeys(REQUIRED, 0.5) | {"dataset": "cells", "device": "cpu", "budget": "tiny"}
    r |= {"noise.source": "synthetic", "noise.types": "realistic", "review.dice_before": 0.4}
    write_results(tmp_path / "run" / "results.json", r)
    monkeypatch.setattr(sys, "argv", ["summarize.py", str(tmp_path)])
    _script("summarize").main()
    out = capsys.readouterr().out
    assert "## Measure 2: fixing errors fast" in out
    assert "| cells | 0.500 realistic | oracle | 0.400 | 0.500 |" in out
    assert "## Full protocol: cells, noise 0.500 realistic" in out


def test_benchmark_parser_takes_noise_types_and_truth():
    from napari_noisyfix.cli import build_parser

    args = build_parser().parse_args(["benchmark", "d", "--out", "o"])
    assert args.noise_types == "protocol" and args.truth is None
    argv = ["benchmark", "d", "--out", "o", "--noise-types", "realistic", "--truth", "t"]
    args = build_parser().parse_args(argv)
    assert args.noise_types == "realistic" and args.truth == "t"


def test_unknown_noise_types_fail_before_any_work(tmp_path):
    from napari_noisyfix.benchmark.run import run_benchmark
    from napari_noisyfix.errors import NoisyFixError
    from napari_noisyfix.progress import drive

    with pytest.raises(NoisyFixError, match="unknown noise type 'bogus'"):
        drive(run_benchmark(tmp_path, tmp_path / "out", noise_types="bogus"), quiet=True)
    assert not (tmp_path / "out").exists()


def test_update_lr_scores_the_remaining_errors_under_stored_probabilities(tmp_path):
    import numpy as np

    from napari_noisyfix.synth.sample import make_sample_project

    project = make_sample_project(tmp_path / "p", n=4, size=32, seed=0, noise=1.0)
    for name in project.names:
        truth = project.truth(name).astype(np.float32)
        project.save_probs(1, name, np.stack([1 - truth, truth]).astype(np.float16))
    ap, fg = _script("update_lr").remaining_ap(project, 1)
    errors = np.concatenate([(project.mask(n) != project.truth(n)).ravel() for n in project.names])
    assert errors.any() and ap == 1.0  # probabilities that are the truth rank every error first
    assert fg == np.mean([project.truth(n).mean() for n in project.names])


def test_demo_start_times_a_command_to_its_png_and_refuses_a_failed_one(tmp_path, monkeypatch):
    demo_start = _script("demo_start")
    png = tmp_path / "shot.png"
    write = (
        f"import pathlib, time; time.sleep(0.2); pathlib.Path({str(png)!r}).write_bytes(b'x'); "
        "time.sleep(1.0)"  # a slow shut-down after the PNG: counted in the exit time only
    )
    seconds, exit_seconds = demo_start.timed([sys.executable, "-c", write], png, timeout=60)
    assert 0.2 <= seconds < 60 and png.is_file()
    assert exit_seconds - seconds >= 0.9
    with pytest.raises(SystemExit, match="failed"):
        demo_start.timed([sys.executable, "-c", "raise SystemExit(3)"], tmp_path / "no.png", 60)
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(SystemExit, match="no X display"):
        demo_start.main(["--repeats", "1"])
