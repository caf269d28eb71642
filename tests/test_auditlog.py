import sqlite3

from napari_noisyfix.auditlog import AuditLog


def test_records_are_on_disk_in_wal_mode(tmp_path):
    log = AuditLog(tmp_path / "log.sqlite")
    rid = log.record(
        "review",
        reviewer="ann",
        image="a",
        region="a#1",
        action="accept",
        model_version=2,
        pixels_changed=17,
        details={"tool": "closing"},
    )
    assert rid == 1
    con = sqlite3.connect(tmp_path / "log.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    row = con.execute("SELECT reviewer, action, pixels_changed FROM events").fetchone()
    assert row == ("ann", "accept", 17)
    again = AuditLog(tmp_path / "log.sqlite")
    assert again.rows()[0]["details"] == {"tool": "closing"}
    again.record("train", model_version=3)
    assert [r["event"] for r in again.rows()] == ["review", "train"]
    assert [r["model_version"] for r in again.rows("train")] == [3]


# ---------------------------------------------------------------------- transactions, faults
import pytest  # noqa: E402

from napari_noisyfix.errors import NoisyFixError  # noqa: E402

JOURNAL = {"a": ("k0", "k1", None, "r1")}


def test_pending_rows_are_hidden_until_committed(tmp_path):
    log = AuditLog(tmp_path / "log.sqlite")
    row = log.begin("review", JOURNAL, action="accept", image="a", details={"regions": ["a#1"]})
    assert log.rows() == [] and [r["id"] for r in log.pending()] == [row]
    assert log.status(row) == "pending"
    assert log.journal([row]) == {row: {"a": ("k0", "k1", None, "r1")}}
    log.finish(row)
    assert [r["id"] for r in log.rows("review")] == [row] and log.pending() == []
    other = log.begin("review", JOURNAL, action="edit")
    log.finish(other, "rolled_back")
    log.finish(other, "committed")  # only a pending row can change
    assert log.status(other) == "rolled_back"
    assert [r["id"] for r in log.rows()] == [row]
    assert [r["id"] for r in log.rows(status=None)] == [row, other]
    assert log.integrity() == "ok"


def test_wal_is_set_once_at_creation(tmp_path, monkeypatch):
    AuditLog(tmp_path / "log.sqlite")
    seen = []
    real, connect = sqlite3.Connection.execute, sqlite3.connect

    class Spy(sqlite3.Connection):
        def execute(self, sql, *args):
            seen.append(sql)
            return real(self, sql, *args)

    monkeypatch.setattr(
        "napari_noisyfix.auditlog.sqlite3.connect",
        lambda *a, **k: connect(*a, **k, factory=Spy),
    )
    AuditLog(tmp_path / "log.sqlite").rows()
    assert seen and not any("journal_mode" in s for s in seen)


def test_old_log_without_status_is_migrated_in_place(tmp_path):
    path = tmp_path / "log.sqlite"
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL,"
        " event TEXT NOT NULL, reviewer TEXT, image TEXT, region TEXT, action TEXT,"
        " model_version INTEGER, pixels_changed INTEGER, details TEXT)"
    )
    con.execute("INSERT INTO events (time, event, action) VALUES ('t', 'review', 'accept')")
    con.commit()
    con.close()
    old = AuditLog(path, read_only=True)
    assert [r["action"] for r in old.rows()] == ["accept"] and old.pending() == []
    assert old.status(1) == "committed" and old.journal([1]) == {}
    log = AuditLog(path)
    assert [r["action"] for r in log.rows("review")] == ["accept"] and log.status(1) == "committed"
    columns = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(events)")]
    assert columns[-1] == "status"


def test_read_only_log_reads_and_refuses_to_write(tmp_path):
    path = tmp_path / "log.sqlite"
    AuditLog(path).record("import", details={"n": 2})
    data = path.read_bytes()
    log = AuditLog(path, read_only=True)
    assert log.read_only and log.rows()[0]["details"] == {"n": 2}
    for write in (
        lambda: log.record("review"),
        lambda: log.begin("review", JOURNAL),
        lambda: log.finish(1),
    ):
        with pytest.raises(NoisyFixError, match="read-only"):
            write()
    assert path.read_bytes() == data
    with pytest.raises(NoisyFixError, match="no audit log"):
        AuditLog(tmp_path / "none.sqlite", read_only=True)


def _one_line(exc_info, path) -> str:
    text = str(exc_info.value)
    assert "\n" not in text and str(path) in text
    return text


@pytest.mark.parametrize("junk", [b"this is not a database at all" * 200, b"\0" * 100])
def test_corrupt_log_is_one_line_error(tmp_path, junk):
    path = tmp_path / "log.sqlite"
    path.write_bytes(junk)
    for read_only in (False, True):
        with pytest.raises(NoisyFixError) as info:
            AuditLog(path, read_only=read_only).rows()
        assert "move it aside" in _one_line(info, path)


def test_sqlite_faults_are_one_line_errors(tmp_path, monkeypatch):
    missing = tmp_path / "gone" / "log.sqlite"
    with pytest.raises(NoisyFixError) as info:
        AuditLog(missing)
    assert "unable to open" in _one_line(info, missing)
    path = tmp_path / "log.sqlite"
    log = AuditLog(path)
    monkeypatch.setattr(AuditLog, "timeout", 0.05)
    holder = sqlite3.connect(path)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(NoisyFixError) as info:
            log.record("review")
        assert "locked" in _one_line(info, path)
    finally:
        holder.rollback()
        holder.close()
    assert log.record("review") == 1
