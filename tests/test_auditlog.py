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
