"""Each review action is one transaction: a fault or a kill at any write leaves all or nothing.

Faults are injected at the k-th write of an action (journal snapshot, working file, log commit)
for every k; kills are real SIGKILLs of a child process at fixed points. After each, reopening
the project (which runs recovery) must show the masks and reviewed maps exactly as before the
action and no committed row for it.
"""

import errno
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from test_review_session import make_project, open_session

from napari_noisyfix.auditlog import AuditLog
from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.project import Project
from napari_noisyfix.review import journal, transaction


# ---------------------------------------------------------------------- helpers
def files(root: Path) -> dict[str, bytes]:
    """Every working mask and reviewed map of the project, by relative path."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for sub in ("corrections", "reviewed")
        for p in sorted((root / sub).glob("*"))
    }


def committed(root: Path) -> list[int]:
    return [r["id"] for r in AuditLog(root / "log.sqlite", read_only=True).rows("review")]


def edit(s):
    mask = s.project.mask("img1")
    mask[0:3, 0:3] = 1
    return s.commit_edit("img1", mask, region_id="img1#0")


def undo_all(s):
    return s.undo()


ACTIONS = {
    "accept": (None, lambda s: s.accept()),
    "reject": (None, lambda s: s.reject("img0#1")),
    "edit": (None, edit),
    "accept_all": (None, lambda s: s.accept_all(0.7)),
    "undo": (lambda s: (s.accept(), s.accept_all(0.5)), undo_all),
    "redo": (lambda s: (s.accept_all(0.5), s.undo()), lambda s: s.redo()),
}


class Faults:
    """Raise ``error`` at the k-th write of an action (and after it too, if ``persistent``)."""

    def __init__(self, monkeypatch, at: int, error, persistent: bool = False):
        self.at, self.error, self.persistent, self.calls = at, error, persistent, 0
        self.monkeypatch = monkeypatch

    def wrap(self, owner, name: str) -> None:
        original = getattr(owner, name)

        def faulty(*args, **kwargs):
            self.calls += 1
            if self.calls == self.at or (self.persistent and self.calls > self.at):
                raise self.error()
            return original(*args, **kwargs)

        self.monkeypatch.setattr(owner, name, faulty)


def enospc():
    return OSError(errno.ENOSPC, "No space left on device")


def prepared(tmp_path, name: str, k: int):
    project = make_project(tmp_path / f"{name}{k}")
    session = open_session(project)
    setup, act = ACTIONS[name]
    if setup is not None:
        setup(session)
    return project, session, act


def check_untouched(project: Project, before: dict, rows: list[int], now: bool = True) -> None:
    """At once (``now``) and after reopening (recovery): the files as before, no new committed
    row."""
    root = project.root
    if now:
        assert files(root) == before
    project.close()
    again = Project.open(root)
    assert files(root) == before
    assert committed(root) == rows
    assert again.log.pending() == []
    assert not list(root.rglob(".*.tmp"))
    again.close()


# ---------------------------------------------------------------------- injected faults
@pytest.mark.parametrize("name", list(ACTIONS))
def test_a_fault_at_any_write_leaves_nothing(tmp_path, monkeypatch, name):
    k = 1
    while True:
        project, session, act = prepared(tmp_path, name, k)
        before, rows = files(project.root), committed(project.root)
        with monkeypatch.context() as m:
            faults = Faults(m, k, enospc)
            faults.wrap(journal, "save_npy")
            faults.wrap(transaction, "put")
            faults.wrap(AuditLog, "begin")
            faults.wrap(AuditLog, "finish")
            try:
                act(session)
            except NoisyFixError as exc:
                assert "\n" not in str(exc) and "not saved" in str(exc)
            else:
                assert faults.calls < k, f"write {k} failed silently"
                break
        check_untouched(project, before, rows)
        k += 1
    assert k > 3  # row, at least one file, commit


@pytest.mark.parametrize("name", ["accept", "accept_all", "undo"])
def test_full_disk_is_one_line_and_changes_nothing(tmp_path, monkeypatch, name):
    """From the k-th atomic write on, the disk is full (the rollback's writes fail too)."""
    import napari_noisyfix._atomic as atomic

    for k in range(1, 7):
        project, session, act = prepared(tmp_path, name, k)
        before, rows = files(project.root), committed(project.root)
        with monkeypatch.context() as m:
            faults = Faults(m, k, enospc, persistent=True)
            faults.wrap(atomic, "atomic_write")
            try:
                act(session)
            except NoisyFixError as exc:
                text = str(exc)
            else:
                assert faults.calls < k
                break
        assert "disk full" in text and "\n" not in text
        assert str(project.root) in text
        check_untouched(project, before, rows, now="reopened" not in text)


def test_session_finishes_a_failed_rollback_before_the_next_action(tmp_path, monkeypatch):
    """The disk fills once img0's mask is written: restoring it fails too, until space is back."""
    import napari_noisyfix._atomic as atomic

    project, session, _ = prepared(tmp_path, "accept_all", 0)
    session.accept()
    before = files(project.root)
    real, full = atomic.atomic_write, []

    def filling(path, *args, **kwargs):
        if full:
            raise enospc()
        out = real(path, *args, **kwargs)
        full.extend(["full"] if str(path).endswith("corrections/img0.npy") else [])
        return out

    with monkeypatch.context() as m:
        m.setattr(atomic, "atomic_write", filling)
        with pytest.raises(NoisyFixError, match="reopened"):
            session.accept_all(0.5)
    assert session.journal.unfinished and files(project.root) != before
    session.reject("img2#0")
    assert not session.journal.unfinished and project.log.pending() == []
    now = files(project.root)
    assert now["corrections/img0.npy"] == before["corrections/img0.npy"]
    assert "corrections/img1.npy" not in now and "corrections/img2.npy" not in now
    assert [r["action"] for r in project.log.rows("review")] == ["accept", "reject"]


def test_edit_with_invalid_values_is_refused_and_rolled_back(tmp_path):
    project, session, _ = prepared(tmp_path, "edit", 0)
    before = files(project.root)
    bad = project.mask("img1")
    bad[0, 0] = 7
    with pytest.raises(NoisyFixError, match="outside classes"):
        session.commit_edit("img1", bad)
    check_untouched(project, before, [])


# ---------------------------------------------------------------------- undo across restarts
def test_undo_history_survives_a_reopen(tmp_path):
    project = make_project(tmp_path / "p")
    original = files(project.root)
    s = open_session(project)
    s.accept()
    after_one = files(project.root)
    s.accept_all(0.5)
    project.close()
    again = open_session(Project.open(project.root))
    assert [a.kind for a in again.history.done] == ["accept", "accept_all"]
    assert again.undo().kind == "accept_all"
    assert files(project.root) == after_one
    assert again.undo().kind == "accept"
    assert files(project.root) == original
    assert again.undo() is None
    again.project.close()
    third = open_session(Project.open(project.root))
    assert [a.kind for a in third.history.undone] == ["accept_all", "accept"]
    assert third.redo().kind == "accept" and files(project.root) == after_one
    assert third.status["img0#0"] == "accepted"
    actions = [r["action"] for r in third.project.log.rows("review")]
    assert actions == ["accept", "accept_all", "undo", "undo", "redo"]


def test_undo_refuses_to_overwrite_newer_work(tmp_path):
    project = make_project(tmp_path / "p")
    s = open_session(project)
    s.accept()
    newer = project.mask("img0")
    newer[30, 30] = 1
    project.save_mask("img0", newer)  # another writer changed the image since
    rows = committed(project.root)
    with pytest.raises(NoisyFixError, match="img0: changed on disk since this accept") as info:
        s.undo()
    assert "\n" not in str(info.value)
    assert np.array_equal(project.mask("img0"), newer)
    assert committed(project.root) == rows and len(s.history.done) == 1


def test_journal_is_pruned_to_the_history(tmp_path):
    project = make_project(tmp_path / "p")
    s = open_session(project)
    s.accept()
    s.reject("img0#1")
    s.accept("img1#0")
    s.reject("img2#0")
    assert journal.prune(project, limit=1) > 0
    kept = {p.stem for p in (project.root / "journal").glob("*.npy")}
    last = s.history.done[-1]
    stamps = (*last.before_stamps.values(), *last.after_stamps.values())
    assert kept == {key for stamp in stamps for key in stamp if key}


def test_reopen_removes_orphan_temp_files_and_says_so(tmp_path):
    project = make_project(tmp_path / "p")
    (project.root / "corrections" / ".img0.npy.abc.tmp").write_bytes(b"half")
    project.close()
    again = Project.open(project.root)
    assert any("removed 1 leftover temporary file" in line for line in again.notes)
    assert not list(project.root.rglob(".*.tmp"))


def test_corrupt_log_gives_one_line_error_on_open(tmp_path):
    project = make_project(tmp_path / "p")
    project.close()
    log = project.root / "log.sqlite"
    for extra in ("-wal", "-shm"):
        Path(f"{log}{extra}").unlink(missing_ok=True)
    log.write_bytes(b"garbage" * 1000)
    with pytest.raises(NoisyFixError) as info:
        Project.open(project.root)
    text = str(info.value)
    assert "\n" not in text and str(log) in text and "not a SQLite database" in text


# ---------------------------------------------------------------------- real kills
def deadly(owner, name: str, k: int, calls: list, after: bool = False) -> None:
    """Make ``owner.name`` SIGKILL the process at the k-th call (before it, or just after)."""
    original = getattr(owner, name)

    def wrapped(*args, **kwargs):
        calls[0] += 1
        if calls[0] == k and not after:
            os.kill(os.getpid(), signal.SIGKILL)
        out = original(*args, **kwargs)
        if calls[0] == k and after:
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    setattr(owner, name, wrapped)


def child_trial(root: Path, name: str, point: str, k: int, out: int) -> None:
    """In the forked child: set up, arm the kill point, run the action."""
    session = open_session(Project.open(root))
    setup, act = ACTIONS[name]
    if setup is not None:
        setup(session)
    os.write(out, b"READY\n")
    calls = [0]
    if point == "replace":
        deadly(os, "replace", k, calls)
    else:
        for owner, fn in ((journal, "save_npy"), (transaction, "put"), (AuditLog, "finish")):
            deadly(owner, fn, k, calls, after=point == "after")
    act(session)
    os.write(out, b"DONE\n")


def run_child(root: Path, name: str, point: str, k: int) -> list[str]:
    """Run one trial in a forked child process (a real process, really SIGKILLed)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        os.close(read)
        code = 0
        try:
            child_trial(root, name, point, k, write)
        except BaseException:  # noqa: BLE001
            import traceback

            os.write(write, traceback.format_exc().encode())
            code = 3
        os._exit(code)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    text = b"".join(chunks).decode()
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    assert killed or os.WEXITSTATUS(status) == 0, text
    return text.split()


def expected_states(tmp_path, name: str) -> tuple[dict, dict, int]:
    """Files before and after action ``name`` (after its setup), and the setup's row count."""
    reference = make_project(tmp_path / f"ref-{name}")
    session = open_session(reference)
    setup, act = ACTIONS[name]
    if setup is not None:
        setup(session)
    before, rows = files(reference.root), len(committed(reference.root))
    act(session)
    after = files(reference.root)
    reference.close()
    return before, after, rows


def killed_at(tmp_path, name: str, point: str, k: int, expected) -> str | None:
    """Kill a child at ``point`` number ``k``; None if it finished, else what recovery left."""
    before, after, setup_rows = expected
    project = make_project(tmp_path / f"{name}-{point}-{k}")
    project.close()
    words = run_child(project.root, name, point, k)
    if "DONE" in words:
        return None
    assert "READY" in words
    again = Project.open(project.root)
    now, rows = files(project.root), committed(project.root)
    assert again.log.pending() == [] and again.log.integrity() == "ok"
    assert not list(project.root.rglob(".*.tmp"))
    again.close()
    if len(rows) == setup_rows:
        assert now == before, (point, k)
        return "rolled back"
    assert len(rows) == setup_rows + 1 and now == after, (point, k)
    return "committed"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize("name", ["accept_all", "undo"])
def test_kill_at_each_write_leaves_all_or_nothing(tmp_path, name):
    """SIGKILL before each write, inside atomic writes (before the rename), after the commit."""
    expected = expected_states(tmp_path, name)
    k, outcomes = 1, []
    while (outcome := killed_at(tmp_path, name, "before", k, expected)) is not None:
        outcomes.append(outcome)
        k += 1
    assert set(outcomes) == {"rolled back"} and k > 3
    writes = k - 1  # the last one is the commit
    assert killed_at(tmp_path, name, "after", writes, expected) == "committed"
    assert killed_at(tmp_path, name, "after", writes - 1, expected) == "rolled back"
    for replace in range(1, writes):
        assert killed_at(tmp_path, name, "replace", replace, expected) in ("rolled back", None)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_the_cli_says_what_recovery_rolled_back(tmp_path, capsys):
    from napari_noisyfix.cli import open_project

    project = make_project(tmp_path / "p")
    project.close()
    assert "READY" in run_child(project.root, "accept", "before", 2)
    with open_project(project.root) as again:
        assert again.log.pending() == []
    err = capsys.readouterr().err
    assert "noisyfix: recovered: rolled back an interrupted accept" in err
