"""New model versions: reserved numbers, probabilities never mixed, checkpoint renamed into
place last, and after a failure or a kill at any point either no version or a complete one with
its audit row."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from napari_noisyfix import reservations
from napari_noisyfix.auditlog import AuditLog
from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.model import versions
from napari_noisyfix.model.checkpoints import load_checkpoint
from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.networks import build_model
from napari_noisyfix.model.trainer import TrainResult
from napari_noisyfix.model.versions import commit_version, predict_names
from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project
from napari_noisyfix.quality.score import score_project

CFG = TrainConfig(encoder="mobilenet_v2", image_size=64, device="cpu")


@pytest.fixture(scope="module")
def result():
    return TrainResult(build_model(CFG, 1, 2).state_dict(), [{"epoch": 0}], 0, CFG, 1, 2)


def _project(root):
    images = {
        n: np.random.default_rng(i).random((32, 32)).astype(np.float32) for i, n in enumerate("ab")
    }
    return Project.create(root, images, {n: np.zeros((32, 32), np.uint8) for n in "ab"})


def _probs(value):
    return {n: np.stack([np.full((32, 32), 1 - value), np.full((32, 32), value)]) for n in "ab"}


def _leftovers(project):
    return sorted(p.name for p in (project.root / "models").iterdir() if p.name.startswith("."))


def test_commit_version(tmp_path, result):
    project = _project(tmp_path / "p")
    stale = project.save_probs(1, "b", np.full((2, 32, 32), 0.5))  # left by a cancelled run
    probs = predict_names(project, result, ["a"])
    assert probs["a"].dtype == np.float16 and probs["a"].shape == (2, 32, 32)
    version = commit_version(project, result, probs, {"kind": "test"}, "train", {"why": "test"})
    assert version == 1 and not stale.exists()
    assert np.allclose(project.load_probs("a", 1), probs["a"].astype(np.float32))
    assert load_checkpoint(project.model_dir(1)).meta == {"kind": "test"}
    assert project.log.rows("train")[-1]["details"] == {"why": "test"}
    assert _leftovers(project) == []


def test_overlapping_commits_get_distinct_versions_and_never_mix(tmp_path, result):
    project = _project(tmp_path / "p")
    first = reservations.reserve(project, "update")
    second = reservations.reserve(project, "update")
    assert (first.version, second.version) == (1, 2)
    assert commit_version(project, result, _probs(0.9), {"n": 2}, "update", {"n": 2}, second) == 2
    assert reservations.next_free(project) == 3  # 1 is still held by the first job
    assert commit_version(project, result, _probs(0.1), {"n": 1}, "update", {"n": 1}, first) == 1
    for version, value in ((1, 0.1), (2, 0.9)):
        assert np.allclose(project.load_probs("a", version)[1], value, atol=1e-3)
        assert load_checkpoint(project.model_dir(version)).meta == {"n": version}
    rows = {r["model_version"]: r["details"] for r in project.log.rows("update")}
    assert rows == {1: {"n": 1}, 2: {"n": 2}}
    assert _leftovers(project) == []


@pytest.mark.parametrize("point", ["save_probs", "_save_checkpoint", "land"])
def test_failure_before_the_rename_leaves_no_version(tmp_path, result, monkeypatch, point):
    project = _project(tmp_path / "p")

    def boom(*args, **kwargs):
        raise OSError("disk full")

    if point == "save_probs":
        monkeypatch.setattr(project, "save_probs", boom)
    elif point == "land":
        monkeypatch.setattr(reservations.Reservation, "land", boom)
    else:
        monkeypatch.setattr(versions, point, boom)
    with pytest.raises(OSError, match="disk full"):
        commit_version(project, result, _probs(0.5), {}, "train", {})
    monkeypatch.undo()
    assert project.model_versions() == [] and _leftovers(project) == []
    assert not (project.root / "scores" / "v0001").exists() and not project.log.rows("train")
    assert commit_version(project, result, _probs(0.5), {}, "train", {}) == 1


def test_failure_after_the_rename_is_completed_on_reopen(tmp_path, result, monkeypatch):
    project = _project(tmp_path / "p")
    monkeypatch.setattr(AuditLog, "record", lambda *a, **k: (_ for _ in ()).throw(OSError("full")))
    with pytest.raises(OSError, match="full"):
        commit_version(project, result, _probs(0.5), {}, "train", {"folds": 2})
    monkeypatch.undo()
    assert project.model_versions() == [1] and not project.log.rows("train")
    project.close()
    with Project.open(project.root) as again:
        row = again.log.rows("train")[-1]
        assert row["model_version"] == 1 and row["details"] == {"folds": 2, "recovered": True}
        assert any("audit row added" in n for n in again.notes) and _leftovers(again) == []


def test_a_cancelled_job_gives_its_number_back(tmp_path):
    project = _project(tmp_path / "p")
    held = reservations.reserve(project, "train")
    project.save_probs(held.version, "a", np.full((2, 32, 32), 0.5))
    held.abandon()
    held.abandon()
    assert _leftovers(project) == [] and not (project.root / "scores" / "v0001").exists()
    assert reservations.next_free(project) == 1


def test_reopening_removes_what_a_killed_job_left(tmp_path):
    project = _project(tmp_path / "p")
    (project.root / "models" / ".v0001.writing").mkdir()  # an old-style half checkpoint
    (project.root / "models" / ".v0002.reserved").mkdir()  # a job killed while training
    project.save_probs(2, "a", np.full((2, 32, 32), 0.5))
    project.close()
    with Project.open(project.root) as again:
        assert _leftovers(again) == [] and not (again.root / "scores" / "v0002").exists()
        notes = " | ".join(again.notes)
        assert "model version 2: interrupted" in notes and "half-written checkpoint" in notes
        assert reservations.next_free(again) == 1


def test_scoring_needs_an_existing_version(tmp_path):
    project = _project(tmp_path / "p")
    held = reservations.reserve(project, "train")  # reserved, never committed
    with pytest.raises(NoisyFixError, match="no model yet"):
        drive(score_project(project), quiet=True)
    with pytest.raises(NoisyFixError, match=r"v0001: no such model version"):
        drive(score_project(project, version=1), quiet=True)
    held.abandon()


KILL = """
import os, signal, sys
import numpy as np
from napari_noisyfix import reservations
from napari_noisyfix.auditlog import AuditLog
from napari_noisyfix.model import versions
from napari_noisyfix.project import Project

root, point = sys.argv[1], sys.argv[2]


def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def save(path, result, meta):  # a stand-in checkpoint (no torch): tmp folder, then rename
    tmp = path.with_name(".model.writing")
    tmp.mkdir()
    (tmp / "model.safetensors").write_bytes(b"weights")
    if point == "checkpoint":
        die()
    os.replace(tmp, path)


versions._save_checkpoint = save
project = Project.open(root)
real = project.save_probs
calls = []


def save_probs(*args):
    calls.append(args)
    if point == "probs" and len(calls) == 2:
        die()
    return real(*args)


project.save_probs = save_probs
patches = {
    "intent": (reservations.Reservation, "write_intent"),
    "land": (reservations.Reservation, "land"),
    "log": (AuditLog, "record"),
    "finish": (reservations.Reservation, "finish"),
}
if point in patches:
    setattr(*patches[point], die)
probs = {n: np.full((2, 32, 32), 0.25, np.float32) for n in project.names}
versions.commit_version(project, None, probs, {}, "train", {"folds": 3})
print("COMMITTED", flush=True)
"""


@pytest.mark.parametrize(
    ("point", "committed"),
    [
        ("intent", False),
        ("probs", False),
        ("checkpoint", False),
        ("land", False),
        ("log", True),
        ("finish", True),
        ("none", True),
    ],
)
def test_a_kill_at_any_commit_point_leaves_no_version_or_a_complete_one(tmp_path, point, committed):
    _project(tmp_path / "p").close()
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILL), str(tmp_path / "p"), point],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert child.returncode == (0 if point == "none" else -9), child.stderr[-2000:]
    with Project.open(tmp_path / "p") as project:
        assert _leftovers(project) == []
        rows = [r for r in project.log.rows("train") if r["model_version"] == 1]
        if not committed:
            assert project.model_versions() == [] and rows == []
            assert not (project.root / "scores" / "v0001").exists()
            return
        assert project.model_versions() == [1] and len(rows) == 1
        assert rows[0]["details"]["folds"] == 3
        assert rows[0]["details"].get("recovered", False) == (point == "log")
        for name in project.names:
            assert np.allclose(project.load_probs(name, 1), 0.25)
