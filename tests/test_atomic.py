"""Atomic writes and staged folders: umask, folder fsync, named faults, leftovers only if ours."""

import errno
import os
import signal
import subprocess
import sys

import pytest

from napari_noisyfix import _atomic
from napari_noisyfix._atomic import atomic_write_bytes, atomic_write_text
from napari_noisyfix._folders import BUILDING, Staging, check_apart, clean_leftovers
from napari_noisyfix.errors import NoisyFixError

POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and flock")


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    _atomic.umask.cache_clear()
    yield
    os.umask(old)
    _atomic.umask.cache_clear()


def _hidden(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@POSIX
def test_files_and_staged_folders_follow_the_umask(tmp_path, umask_027):
    assert _atomic.umask() == 0o027
    path = atomic_write_text(tmp_path / "a.txt", "x")
    assert path.stat().st_mode & 0o777 == 0o640
    staging = Staging(tmp_path / "out", "exporting", lambda p: False)
    atomic_write_text(staging.path / "f.txt", "y")
    staging.commit("export", "marker")
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o750
    assert (tmp_path / "out" / "f.txt").stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["f.txt"]


def test_durable_writes_sync_the_folder_after_the_rename(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(_atomic, "fsync_dir", synced.append)
    atomic_write_bytes(tmp_path / "d.bin", b"1")
    atomic_write_bytes(tmp_path / "c.bin", b"2", durable=False)
    assert synced == [tmp_path]


def test_a_full_disk_names_the_target_and_leaves_the_old_file(tmp_path, monkeypatch):
    target = atomic_write_bytes(tmp_path / "m.npy", b"old")

    def full(fd, write, durable):
        os.write(fd, b"n")  # the first byte, then the disk is full
        os.close(fd)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_atomic, "_write_temp", full)
    with pytest.raises(OSError) as err:
        atomic_write_bytes(target, b"new content")
    assert err.value.errno == errno.ENOSPC and err.value.filename == str(target)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["m.npy"]


def test_check_apart_compares_real_paths(tmp_path):
    (tmp_path / "data" / "masks").mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "data")
    inputs = [("masks folder", tmp_path / "data" / "masks")]
    for out, word in [
        (tmp_path / "link" / "masks", "is the masks folder itself"),
        (tmp_path / "link", "contains the masks folder"),
        (tmp_path / "data" / "masks" / "x", "lies inside the masks folder"),
    ]:
        with pytest.raises(NoisyFixError, match=word):
            check_apart(out, inputs, "output folder")
    check_apart(tmp_path / "data" / "out", inputs, "output folder")


@POSIX
def test_leftovers_are_cleaned_only_when_ours_and_stale(tmp_path):
    parent = tmp_path / "parent"
    parent.mkdir()
    code = (
        "import os, signal, sys; from napari_noisyfix._folders import Staging; "
        "s = Staging(sys.argv[1], 'exporting', lambda p: False); "
        "open(os.path.join(s.path, 'half.png'), 'w').write('x'); "
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    run = subprocess.run([sys.executable, "-c", code, str(parent / "out")], timeout=60)
    assert run.returncode == -signal.SIGKILL
    (killed,) = _hidden(parent)
    foreign = parent / ".user.0123456789abcdef.exporting"  # our name pattern, but no marker
    foreign.mkdir()
    live = Staging(parent / "other", "creating", lambda p: False)  # a run still going
    again = Staging(parent / "out", "exporting", lambda p: False)
    assert killed not in _hidden(parent)
    assert foreign.is_dir() and (live.path / BUILDING).is_file()
    again.abort()
    live.abort()
    assert _hidden(parent) == [foreign.name]


def test_a_swap_killed_half_way_is_undone_or_finished(tmp_path):
    def ours(p):
        return (p / "ours").is_file()

    old = tmp_path / ".out.00112233445566ff.trash"  # moved aside, new one never renamed in
    old.mkdir()
    (old / "ours").write_text("old")
    assert clean_leftovers(tmp_path, ours) == [old]
    assert (tmp_path / "out" / "ours").read_text() == "old"
    old.mkdir()
    (old / "ours").write_text("older")  # the swap finished; only the deletion was cut short
    clean_leftovers(tmp_path, ours)
    assert not old.exists() and (tmp_path / "out" / "ours").read_text() == "old"
    theirs = tmp_path / ".mine.00112233445566ff.trash"
    theirs.mkdir()
    assert clean_leftovers(tmp_path, ours) == [] and theirs.is_dir()
