"""Faults from outside, through the CLI: --force traps, full disks, read-only folders, hostile
files (huge headers, FIFOs), mask values, damaged checkpoints. Each is one line, exit 2,
nothing deleted, nothing half-written."""

import errno
import hashlib
import io
import os
import signal
import sqlite3
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import tifffile
from io_samples import disc_mask, gray, save_nifti, save_png
from PIL import Image

from napari_noisyfix import _atomic
from napari_noisyfix.cli import main
from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.faults import one_line
from napari_noisyfix.io.readers import read_image
from napari_noisyfix.project import Project


def _data(root: Path, n: int = 2, value: int = 255) -> Path:
    for i in range(n):
        save_png(root / "images" / f"a{i}.png", gray(seed=i))
        save_png(root / "masks" / f"a{i}.png", disc_mask(24, 32, centre=(8 + i, 12)) * value)
    return root


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _cli(capsys, *argv) -> tuple[int, list[str]]:
    """Exit code and the stderr lines that are not progress bars (tqdm writes there too)."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    bars = ("it/s]", "step/s]", "?it/s", "?step/s")
    return code, [
        line
        for line in err.replace("\r", "\n").splitlines()
        if line and not any(bar in line for bar in bars)
    ]


def _import(capsys, d: Path, project: Path, *extra) -> tuple[int, list[str]]:
    return _cli(capsys, "import", d / "images", d / "masks", project, *extra)


def _refused(code, err, *words):
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("noisyfix: error: "), err
    for word in words:
        assert word in err[0], err


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def _failing_writes(monkeypatch, after: int, code: int = errno.ENOSPC):
    """Make the ``after``-th atomic write from now (0: the next) fail with ``code``."""
    real, calls = _atomic._write_temp, []

    def write(fd, fill, durable):
        calls.append(1)
        if len(calls) > after:
            made = io.BytesIO()
            fill(made)
            os.write(fd, made.getvalue()[: len(made.getvalue()) // 2])  # half, then the fault
            os.close(fd)
            raise OSError(code, os.strerror(code))
        real(fd, fill, durable)

    monkeypatch.setattr(_atomic, "_write_temp", write)


# ---------------------------------------------------------------------- --force traps
def test_import_into_the_data_folder_is_refused_and_deletes_nothing(tmp_path, capsys):
    d = _data(tmp_path / "d")
    before = _digests(d)
    _refused(*_import(capsys, d, d, "--force"), f"{d}: contains the images folder")
    _refused(*_import(capsys, d, d / "masks", "--force"), "is the masks folder itself")
    _refused(*_import(capsys, d, d / "images" / "P"), "lies inside the images folder")
    table = d / "patients.csv"
    table.write_text("image,patient\na0,X\n")
    before[table.name] = hashlib.sha256(table.read_bytes()).hexdigest()
    _refused(
        *_cli(capsys, "import", d / "images", d / "masks", table, "--patients", table, "--force"),
        "is the patient table itself",
    )
    assert _digests(d) == before


def test_export_over_the_originals_or_the_project_is_refused(tmp_path, capsys):
    d = _data(tmp_path / "d")
    assert _import(capsys, d, tmp_path / "P")[0] == 0
    before, project = _digests(d), _digests(tmp_path / "P")
    _refused(*_cli(capsys, "export", tmp_path / "P", d / "masks", "--force"), "masks folder itself")
    _refused(*_cli(capsys, "export", tmp_path / "P", tmp_path / "P", "--force"), "project itself")
    _refused(*_cli(capsys, "export", tmp_path / "P", tmp_path / "P" / "x"), "inside the project")
    _refused(*_cli(capsys, "export", tmp_path / "P", tmp_path, "--force"), "contains the project")
    assert _digests(d) == before and _digests(tmp_path / "P") == project
    assert Project.open(tmp_path / "P", mode="read").names == ["a0", "a1"]


def test_force_replaces_only_folders_noisyfix_made(tmp_path, capsys):
    d = _data(tmp_path / "d")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    _refused(*_import(capsys, d, mine, "--force"), "mine: not a noisyfix project", "thesis.tex")
    assert _import(capsys, d, tmp_path / "P")[0] == 0
    _refused(*_cli(capsys, "export", tmp_path / "P", mine, "--force"), "not a noisyfix export")
    assert (mine / "thesis.tex").read_text() == "years of work"
    assert _cli(capsys, "export", tmp_path / "P", tmp_path / "out")[0] == 0
    assert _cli(capsys, "export", tmp_path / "P", tmp_path / "out", "--force")[0] == 0
    assert _import(capsys, d, tmp_path / "P", "--force")[0] == 0
    assert _hidden(tmp_path) == []


# ---------------------------------------------------------------------- full disk, read-only
def test_full_disk_during_export_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    d = _data(tmp_path / "d")
    assert _import(capsys, d, tmp_path / "P")[0] == 0
    project = _digests(tmp_path / "P")
    _failing_writes(monkeypatch, after=1)
    code, err = _cli(capsys, "export", tmp_path / "P", tmp_path / "out")
    assert err == [f"noisyfix: error: {tmp_path / 'out' / 'masks' / 'a1.png'}: disk full"]
    assert code == 2 and not (tmp_path / "out").exists() and _hidden(tmp_path) == []
    assert _digests(tmp_path / "P") == project


def test_full_disk_during_import_mask_writes_leaves_no_project(tmp_path, capsys, monkeypatch):
    d = _data(tmp_path / "d")
    _failing_writes(monkeypatch, after=3)  # image a0, mask a0, image a1, then mask a1
    code, err = _import(capsys, d, tmp_path / "P")
    assert err == [f"noisyfix: error: {tmp_path / 'P' / 'labels_original' / 'a1.npy'}: disk full"]
    assert code == 2 and not (tmp_path / "P").exists() and _hidden(tmp_path) == []


def test_full_disk_during_a_mask_save_keeps_the_saved_mask(tmp_path, monkeypatch):
    proj = Project.create(tmp_path / "P", {"a": gray()}, {"a": disc_mask(24, 32)})
    proj.save_mask("a", np.ones((24, 32), np.uint8))
    _failing_writes(monkeypatch, after=0)
    with pytest.raises(OSError) as err:
        proj.save_mask("a", np.zeros((24, 32), np.uint8))
    assert one_line(err.value) == f"{tmp_path / 'P' / 'corrections' / 'a.npy'}: disk full"
    monkeypatch.undo()
    assert proj.mask("a").all() and _hidden(tmp_path / "P" / "corrections") == []
    proj.close()


@pytest.mark.parametrize(
    ("code", "words"), [(errno.EACCES, "permission denied"), (errno.EROFS, "read-only")]
)
def test_unwritable_output_is_one_line(tmp_path, capsys, monkeypatch, code, words):
    d = _data(tmp_path / "d")
    assert _import(capsys, d, tmp_path / "P")[0] == 0
    _failing_writes(monkeypatch, after=0, code=code)
    _refused(*_cli(capsys, "export", tmp_path / "P", tmp_path / "out"), "a0.png: " + words)
    assert not (tmp_path / "out").exists() and _hidden(tmp_path) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_read_only_parent_folder_is_one_line(tmp_path, capsys):
    d = _data(tmp_path / "d")
    assert _import(capsys, d, tmp_path / "P")[0] == 0
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        _refused(*_cli(capsys, "export", tmp_path / "P", locked / "out"), "permission denied")
    finally:
        locked.chmod(0o755)
    assert list(locked.iterdir()) == []


def test_sqlite_and_memory_faults_are_one_line(tmp_path, capsys, monkeypatch):
    from napari_noisyfix.io import export

    d = _data(tmp_path / "d")
    assert _import(capsys, d, tmp_path / "P")[0] == 0

    def broken(project):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(export, "review_log_csv", broken)
    _refused(
        *_cli(capsys, "export", tmp_path / "P", tmp_path / "out"),
        f"{tmp_path / 'P' / 'log.sqlite'}: SQLite error (disk I/O error)",
    )
    monkeypatch.setattr(export, "review_log_csv", lambda p: (_ for _ in ()).throw(MemoryError()))
    _refused(*_cli(capsys, "export", tmp_path / "P", tmp_path / "out"), "out of memory")
    assert _hidden(tmp_path) == []


# ---------------------------------------------------------------------- hostile files
def _huge_tiff(path: Path) -> Path:
    """A valid 16384 x 16384 float64 zlib TIFF (2 GiB decoded) of about 2 MB."""
    import zlib

    tile = zlib.compress(np.zeros((1024, 1024), np.float64).tobytes(), 9)
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(
        path,
        data=iter([tile] * 256),
        shape=(16384, 16384),
        dtype="float64",
        tile=(1024, 1024),
        compression="zlib",
    )
    return path


def _huge_nifti(path: Path) -> Path:
    """A NIfTI file whose header claims 4096 x 4096 x 64 float64 voxels (8 GiB) over 352 bytes."""
    save_nifti(path, np.zeros((2, 2, 2), np.float64))
    raw = bytearray(path.read_bytes()[:352])
    raw[40:56] = np.array([3, 4096, 4096, 64, 1, 1, 1, 1], "<i2").tobytes()
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("make", [_huge_tiff, _huge_nifti])
def test_huge_headers_are_refused_before_decoding(tmp_path, make):
    path = make(tmp_path / ("big.tif" if make is _huge_tiff else "big.nii"))
    assert path.stat().st_size < 3_000_000
    tracemalloc.start()
    try:
        with pytest.raises(NoisyFixError) as err:
            read_image(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50_000_000
    assert str(err.value).startswith(f"{path}: decodes to ")
    assert str(err.value).endswith(
        "GiB, over the 1.0 GiB limit (set NOISYFIX_MAX_IMAGE_BYTES to raise it)"
    )


def test_the_size_cap_can_be_raised_and_lowered(tmp_path, monkeypatch):
    path = save_png(tmp_path / "g.png", gray(64, 64))
    monkeypatch.setenv("NOISYFIX_MAX_IMAGE_BYTES", "1K")
    with pytest.raises(NoisyFixError, match="decodes to 4.0 KiB, over the 1.0 KiB limit"):
        read_image(path)
    monkeypatch.setenv("NOISYFIX_MAX_IMAGE_BYTES", "5000")
    assert read_image(path)[0].shape == (64, 64)
    monkeypatch.setenv("NOISYFIX_MAX_IMAGE_BYTES", "lots")
    with pytest.raises(NoisyFixError, match="NOISYFIX_MAX_IMAGE_BYTES='lots': expected"):
        read_image(path)


def test_import_of_huge_tiffs_is_one_line(tmp_path, capsys):
    d = tmp_path / "d"
    _huge_tiff(d / "images" / "a.tif")
    save_png(d / "masks" / "a.png", disc_mask(24, 32))
    _refused(*_import(capsys, d, tmp_path / "P"), "a.tif: decodes to 2.0 GiB, over the 1.0 GiB")
    assert not (tmp_path / "P").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("name", ["b.png", "IM0001"])
def test_a_fifo_among_the_images_is_refused_not_waited_on(tmp_path, capsys, name):
    d = _data(tmp_path / "d")
    os.mkfifo(d / "images" / name)

    def hung(signum, frame):
        raise TimeoutError("import blocked on the FIFO")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        code, err = _import(capsys, d, tmp_path / "P")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    _refused(code, err, f"{name}: is a FIFO (named pipe), not a regular file")


# ---------------------------------------------------------------------- mask values
def test_mask_of_0_and_128_imports_as_binary_and_exports_back(tmp_path, capsys):
    d = _data(tmp_path / "d", value=128)
    assert _import(capsys, d, tmp_path / "P")[0] == 0
    proj = Project.open(tmp_path / "P", mode="read")
    assert proj.n_classes == 2 and set(np.unique(proj.mask("a0"))) == {0, 1}
    assert _cli(capsys, "export", tmp_path / "P", tmp_path / "out")[0] == 0
    back = np.array(Image.open(tmp_path / "out" / "masks" / "a0.png"))
    assert np.array_equal(back, disc_mask(24, 32, centre=(8, 12)) * 128)


def test_mask_values_that_are_neither_get_the_new_message(tmp_path, capsys):
    d = _data(tmp_path / "d")
    bad = disc_mask(24, 32)
    bad[0, 0] = 255
    save_png(d / "masks" / "a1.png", bad)
    code, err = _import(capsys, d, tmp_path / "P")
    expected = (
        f"noisyfix: error: {d / 'masks' / 'a1.png'}: mask values {{0, 1, 255}} are neither "
        "binary nor class ids 0..K-1; give binary masks (0 and one other value) or class ids"
    )
    assert code == 2 and err == [expected]


def test_class_ids_spread_over_files_stay_class_ids(tmp_path, capsys):
    d = _data(tmp_path / "d")
    save_png(d / "masks" / "a0.png", disc_mask(24, 32) * 2)  # only class 2 here
    save_png(d / "masks" / "a1.png", disc_mask(24, 32) + disc_mask(24, 32, (18, 24), 3) * 2)
    assert _import(capsys, d, tmp_path / "P")[0] == 0
    proj = Project.open(tmp_path / "P", mode="read")
    assert proj.n_classes == 3 and set(np.unique(proj.mask("a0"))) == {0, 2}
    save_png(d / "masks" / "a0.png", disc_mask(24, 32) * 255)
    _refused(
        *_import(capsys, d, tmp_path / "Q"),
        "a0.png: mask values {0, 255} do not fit the class ids {0, 1, 2} of a1.png",
    )


# ---------------------------------------------------------------------- checkpoints
def test_a_damaged_checkpoint_blocks_the_export(tmp_path, capsys):
    import torch

    from napari_noisyfix.model.checkpoints import save_checkpoint
    from napari_noisyfix.model.config import TrainConfig

    d = _data(tmp_path / "d")
    assert _import(capsys, d, tmp_path / "P")[0] == 0
    proj = Project.open(tmp_path / "P", mode="read")
    weights = save_checkpoint(proj.model_dir(1), {"w": torch.ones(4)}, TrainConfig(), 1, 2) / (
        "model.safetensors"
    )
    raw = bytearray(weights.read_bytes())
    raw[-1] ^= 0xFF
    weights.write_bytes(bytes(raw))
    _refused(
        *_cli(capsys, "export", tmp_path / "P", tmp_path / "out"),
        f"{weights}: checksum mismatch",
        "nothing exported",
    )
    assert not (tmp_path / "out").exists() and _hidden(tmp_path) == []


# ---------------------------------------------------------------------- napari front door
def test_the_widget_reports_faults_in_one_line_and_a_notification(tmp_path, monkeypatch):
    from napari.utils import notifications

    from napari_noisyfix.gui.controller import ReviewController

    shown, status = [], []
    monkeypatch.setattr(notifications, "show_error", shown.append)
    controller = ReviewController.__new__(ReviewController)
    controller.project = type("P", (), {"root": tmp_path / "P"})()
    controller.session, controller.on_status = object(), status.append

    def full():
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "m.npy"))

    assert controller._run(full) is None
    assert status == shown == [f"{tmp_path / 'm.npy'}: disk full"]
    controller._run(lambda: (_ for _ in ()).throw(sqlite3.DatabaseError("file is not a database")))
    assert shown[-1] == f"{tmp_path / 'P' / 'log.sqlite'}: SQLite error (file is not a database)"
    controller._run(lambda: (_ for _ in ()).throw(NoisyFixError("a: region closed")))
    assert status[-1] == "a: region closed" and len(shown) == 2


def test_full_disk_while_copying_the_model_names_the_copy(tmp_path, capsys, monkeypatch):
    import torch

    from napari_noisyfix.io import export
    from napari_noisyfix.model.checkpoints import save_checkpoint
    from napari_noisyfix.model.config import TrainConfig

    d = _data(tmp_path / "d")
    assert _import(capsys, d, tmp_path / "P")[0] == 0
    proj = Project.open(tmp_path / "P", mode="read")
    save_checkpoint(proj.model_dir(1), {"w": torch.ones(4)}, TrainConfig(), 1, 2)

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device", str(src))

    monkeypatch.setattr(export.shutil, "copy2", full)
    code, err = _cli(capsys, "export", tmp_path / "P", tmp_path / "out")
    assert err == [f"noisyfix: error: {tmp_path / 'out' / 'model' / 'config.json'}: disk full"]
    assert code == 2 and not (tmp_path / "out").exists() and _hidden(tmp_path) == []


def test_a_failed_job_is_one_line_and_a_notification(tmp_path, monkeypatch):
    from napari.utils import notifications

    from napari_noisyfix.gui.workers import JobRunner

    shown, states = [], []
    monkeypatch.setattr(notifications, "show_error", shown.append)
    runner = JobRunner(states.append, log_file=lambda: tmp_path / "log.sqlite")
    runner.name = "retrain"
    runner._on_error(OSError(errno.EROFS, "Read-only file system", str(tmp_path / "models")))
    assert states == [f"retrain failed: {tmp_path / 'models'}: read-only file system"]
    runner._on_error(sqlite3.OperationalError("database is locked"))
    assert shown[-1] == (
        f"NoisyFix retrain failed: {tmp_path / 'log.sqlite'}: SQLite error (database is locked)"
    )


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_project_and_export_files_follow_the_umask(tmp_path, capsys):
    old = os.umask(0o027)
    _atomic.umask.cache_clear()
    try:
        d = _data(tmp_path / "d")
        assert _import(capsys, d, tmp_path / "P")[0] == 0
        assert _cli(capsys, "export", tmp_path / "P", tmp_path / "out")[0] == 0
    finally:
        os.umask(old)
        _atomic.umask.cache_clear()

    def mode(path):
        return path.stat().st_mode & 0o777

    assert mode(tmp_path / "P") == 0o750 and mode(tmp_path / "P" / "project.json") == 0o640
    assert mode(tmp_path / "P" / "images" / "a0.npy") == 0o640
    assert mode(tmp_path / "P" / "labels_original" / "a0.npy") == 0o440
    assert mode(tmp_path / "out") == 0o750 and mode(tmp_path / "out" / "masks" / "a0.png") == 0o640
