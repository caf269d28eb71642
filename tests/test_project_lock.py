"""One writer per project: a second writer refused with the holder named, readers beside it,
stale locks taken over, read-only opens that create nothing, image names checked on open."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.io.export import export_project
from napari_noisyfix.locking import LOCK_FILE, ProjectLocked, read_holder
from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project
from napari_noisyfix.review.jobs import exclusive, score_job

HOLD = """
import sys
from napari_noisyfix.project import Project
project = Project.open(sys.argv[1])
print("LOCKED", flush=True)
sys.stdin.read()  # hold the lock until the test closes our stdin (or kills us)
"""


def _project(root, n=2):
    images = {f"im{i}": np.full((8, 8), i, np.uint8) for i in range(n)}
    masks = {name: np.eye(8, dtype=np.uint8) for name in images}
    return Project.create(root, images, masks)


@pytest.fixture
def root(tmp_path):
    with _project(tmp_path / "p") as project:
        return project.root


@pytest.fixture
def holder(root):
    """A child process holding ``root`` open for writing."""
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLD), str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert child.stdout.readline().strip() == "LOCKED"
    yield child
    if child.poll() is None:
        child.kill()
    child.wait(timeout=30)
    child.stdin.close()
    child.stdout.close()


def test_second_process_is_refused_with_the_holder_named(root, holder):
    with pytest.raises(ProjectLocked) as refused:
        Project.open(root)
    text = str(refused.value)
    assert "\n" not in text and text.startswith(f"{root}: open for writing by ")
    assert f"pid {holder.pid}," in text and "'python -c'" in text and " since " in text
    assert text.endswith("close it there, or open read-only")
    assert read_holder(root)["pid"] == holder.pid

    viewer = Project.open(root, mode="read")
    assert viewer.names == ["im0", "im1"] and viewer.mask("im1").sum() == 8
    assert viewer.log.rows("import")
    with pytest.raises(NoisyFixError, match=r"opened read-only .*cannot save the mask of im0"):
        viewer.save_mask("im0", np.zeros((8, 8), np.uint8))

    review = Project.open_for_review(root)
    assert not review.writable and f"pid {holder.pid}" in review.read_only_reason
    with pytest.raises(NoisyFixError, match=f"opened read-only .*pid {holder.pid}"):
        review.set_reviewer("dr-b")

    holder.stdin.close()
    holder.wait(timeout=30)
    with Project.open(root) as again:
        assert again.writable
        again.set_reviewer("dr-b")


def test_stale_lock_of_a_killed_process_is_taken_over(root, holder):
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    with Project.open(root) as project:
        assert project.writable and read_holder(root)["pid"] == os.getpid()


def test_second_writer_in_the_same_process_is_refused(root):
    first = Project.open(root)
    with pytest.raises(ProjectLocked, match=f"pid {os.getpid()},"):
        Project.open(root)
    with pytest.raises(ProjectLocked):
        Project.create(root, {"x": np.zeros((4, 4))}, {"x": np.zeros((4, 4))}, force=True)
    assert first.names == ["im0", "im1"]  # --force did not replace a project open elsewhere
    first.close()
    first.close()  # idempotent
    with pytest.raises(NoisyFixError, match="closed; open it again"):
        first.save_mask("im0", np.zeros((8, 8), np.uint8))
    assert first.mask("im0").sum() == 8  # reading goes on
    second = Project.open(root)
    del second  # garbage collection releases the lock too
    with Project.open(root) as third:
        assert third.writable
    assert not third.writable


def test_read_mode_refuses_every_write(root):
    project = Project.open(root, mode="read")
    writes = [
        lambda: project.set_reviewer("x"),
        lambda: project.save_mask("im0", np.zeros((8, 8), np.uint8)),
        lambda: project.mark_reviewed("im0", np.ones((8, 8), bool)),
        lambda: project.set_reviewed("im0", np.ones((8, 8), bool)),
        lambda: project.new_model_dir(),
        lambda: project.save_probs(1, "im0", np.full((2, 8, 8), 0.5)),
        lambda: next(score_job(project)),
    ]
    for write in writes:
        with pytest.raises(NoisyFixError, match=r"opened read-only \(opened with mode='read'\)"):
            write()
    with pytest.raises(NoisyFixError, match="mode 'rw'"):
        Project.open(root, mode="rw")


def test_a_second_job_in_the_same_process_is_refused(root):
    with (
        Project.open(root) as project,
        exclusive(project, "retrain"),
        pytest.raises(NoisyFixError, match="retrain is running on this project"),
    ):
        next(score_job(project))


#: SQLite's own shared-memory index and WAL: a reader of a WAL database in a writable folder
#: makes them (empty); they hold no data and SQLite removes them with the last connection.
SQLITE_SIDE_FILES = {"log.sqlite-shm", "log.sqlite-wal"}


def _tree(root):
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.name not in SQLITE_SIDE_FILES
    }


def test_read_only_open_creates_nothing_and_exports(root, tmp_path):
    (root / LOCK_FILE).unlink()
    for sub in ("scores", "models", "reviewed", "corrections"):
        (root / sub).rmdir()
    before = _tree(root)
    project = Project.open(root, mode="read")
    assert project.model_versions() == [] and project.load_probs("im0") is None
    assert not project.reviewed("im0").any() and project.image("im1").max() == 1
    assert project.scores_dir(1) == root / "scores" / "v0001"
    out = drive(export_project(project, tmp_path / "out", fmt="npy"), quiet=True)
    assert sorted(p.name for p in (out / "masks").iterdir()) == ["im0.npy", "im1.npy"]
    assert "import" in (out / "review_log.csv").read_text()
    assert _tree(root) == before


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores file permissions"
)
def test_read_only_folder_opens_for_viewing_and_export(root, tmp_path):
    files = [root, *root.rglob("*")]
    for path in files:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        with pytest.raises(NoisyFixError, match="cannot be written; open it read-only"):
            Project.open(root)
        project = Project.open_for_review(root)
        assert not project.writable and "cannot be written" in project.read_only_reason
        out = drive(export_project(project, tmp_path / "out", fmt="npy"), quiet=True)
        assert (out / "masks" / "im0.npy").is_file()
    finally:
        for path in files:
            path.chmod(path.stat().st_mode | 0o200)


@pytest.mark.parametrize("name", ["../../x", "a/b", ".hidden", "..", "", 7])
def test_crafted_image_names_are_refused_on_open(root, name):
    config = json.loads((root / "project.json").read_text())
    config["images"][0]["name"] = name
    (root / "project.json").write_text(json.dumps(config))
    for mode in ("write", "read"):
        with pytest.raises(NoisyFixError, match=r"project\.json: images\[0\]") as refused:
            Project.open(root, mode=mode)
        assert "\n" not in str(refused.value)
    assert not (root.parent.parent / "x.npy").exists()


def test_repeated_image_names_and_bad_shapes_are_refused(root):
    config = json.loads((root / "project.json").read_text())
    config["images"][1]["name"] = config["images"][0]["name"]
    (root / "project.json").write_text(json.dumps(config))
    with pytest.raises(NoisyFixError, match=r"images\[1\]: name 'im0' missing or repeated"):
        Project.open(root)
    config["images"][1].update(name="im1", shape=[8, "8"])
    (root / "project.json").write_text(json.dumps(config))
    with pytest.raises(NoisyFixError, match=r"images\[1\] \(im1\): shape"):
        Project.open(root)


def test_review_window_beside_a_writer_opens_read_only_and_refuses_actions(
    make_napari_viewer, tmp_path
):
    from scipy import ndimage

    from napari_noisyfix.gui.widget import NoisyFixWidget
    from napari_noisyfix.quality.score import score_project
    from napari_noisyfix.synth.sample import make_sample_project

    writer = make_sample_project(tmp_path / "s", n=4, size=48, seed=0, noise=1.0)
    version, _ = writer.new_model_dir()
    for name in writer.names:
        fg = ndimage.gaussian_filter(writer.truth(name).astype(np.float32), 1.0) * 0.9 + 0.05
        writer.save_probs(version, name, np.stack([1 - fg, fg]))
    drive(score_project(writer, version=version), quiet=True)
    masks = {n: writer.mask(n).copy() for n in writer.names}
    n_rows = len(writer.log.rows())

    widget = NoisyFixWidget(make_napari_viewer())
    assert widget.open_project(writer.root, reviewer="dr-b")
    shown = widget.controller.project
    assert not shown.writable and f"pid {os.getpid()}" in shown.read_only_reason
    assert "READ-ONLY" in widget.state.text() and "open read-only" in widget.status.text()
    assert widget.controller.session.current is not None
    widget.controller.accept()
    assert "opened read-only" in widget.status.text() and "\n" not in widget.status.text()
    assert all(np.array_equal(writer.mask(n), masks[n]) for n in writer.names)
    assert len(writer.log.rows()) == n_rows and writer.reviewer != "dr-b"
    widget.teardown()
    writer.close()
