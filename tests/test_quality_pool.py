"""Per-image analysis in a pool of worker processes: the same scores as in one process."""

import dataclasses

import numpy as np
import pytest

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project
from napari_noisyfix.quality import pool
from napari_noisyfix.quality.params import PARAMS
from napari_noisyfix.quality.score import score_project
from napari_noisyfix.quality.synthetic import disk_mask, probs_from_mask

GRID = [(12, 12), (12, 36), (36, 12), (36, 36)]


def _project(root):
    rng = np.random.default_rng(1)
    images, masks, probs = {}, {}, {}
    for i in range(10):
        truth = disk_mask((48, 48), GRID, rng.integers(4, 8, len(GRID)))
        mask = truth.copy()
        if i % 3 == 0:
            mask[:24, :24] = 0  # an object left out
        name = f"im{i}"
        images[name] = (truth * 150 + rng.integers(0, 50, truth.shape)).astype(np.uint8)
        masks[name], probs[name] = mask, probs_from_mask(truth, noise=0.05, seed=i)
    project = Project.create(root, images, masks)
    version, _ = project.new_model_dir()
    for name in project.names:
        project.save_probs(version, name, probs[name])
    return project


def test_scores_from_a_pool_equal_those_from_one_process(tmp_path, monkeypatch):
    monkeypatch.setenv(pool.ENV, "1")
    here = _project(tmp_path / "here")
    drive(score_project(here), quiet=True)
    monkeypatch.setenv(pool.ENV, "2")
    small = dataclasses.replace(PARAMS.scoring, pool_min_analyses=1)
    monkeypatch.setattr(pool, "PARAMS", dataclasses.replace(PARAMS, scoring=small))
    assert pool.worker_count(10, 1) == 2
    pooled = _project(tmp_path / "pooled")
    drive(score_project(pooled), quiet=True)
    for table in ("image_scores.csv", "regions.csv"):
        ours = (pooled.scores_dir(1) / table).read_text()
        assert ours == (here.scores_dir(1) / table).read_text()
    assert "im0" in (pooled.scores_dir(1) / "regions.csv").read_text()  # the left-out object


def test_the_number_of_workers_follows_the_work_and_the_setting(monkeypatch):

    monkeypatch.setenv(pool.ENV, "4")
    per_worker = PARAMS.scoring.pool_min_analyses
    assert pool.worker_count(100, per_worker) == 4  # one per CPU
    assert pool.worker_count(2 * per_worker, 1) == 2  # each worker gets its share of work
    assert pool.worker_count(per_worker, 1) == 1
    assert pool.worker_count(3, 10 * per_worker) == 3  # no more workers than tasks
    assert pool.worker_count(1, per_worker - 1) == 1  # too little work for a pool
    monkeypatch.setenv(pool.ENV, "0")
    with pytest.raises(NoisyFixError, match="NOISYFIX_WORKERS='0'"):
        pool.worker_count(10, 10)


def test_workers_do_not_run_the_callers_script_again(tmp_path):
    """A user's script without an ``if __name__ == "__main__"`` guard scores with a pool: the
    spawned workers must not run its body again (nor fail to start because of it)."""
    import subprocess
    import sys

    script = tmp_path / "no_guard.py"
    script.write_text(
        "import os\n"
        "from napari_noisyfix.quality.pool import run_tasks\n"
        "print('body', flush=True)\n"
        "pids = {pid for _, pid in run_tasks(os.getpid, [(), (), (), ()], 2)}\n"
        "print('workers', len(pids - {os.getpid()}), flush=True)\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split("\n").count("body") == 1
    assert "workers 0" not in done.stdout and "workers" in done.stdout


def test_a_pool_holds_a_few_results_at_a_time_not_every_one(monkeypatch):
    """Tasks are submitted a window at a time, so results not yet handed over stay few."""
    submitted = []

    class Counting(pool.ProcessPoolExecutor):
        def submit(self, fn, *args):
            submitted.append(args)
            return super().submit(fn, *args)

    monkeypatch.setattr(pool, "ProcessPoolExecutor", Counting)
    tasks = [(-i,) for i in range(40)]
    seen, window = {}, 2 * pool.IN_FLIGHT
    for i, value in pool.run_tasks(abs, tasks, 2):
        seen[i] = value
        assert len(submitted) - len(seen) < window  # handed over or still at work: a window
    assert seen == {i: i for i in range(40)} and len(submitted) == 40
