"""The audit log: every event (import, training, review action) with time and reviewer, in SQLite (WAL)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    event TEXT NOT NULL,
    reviewer TEXT,
    image TEXT,
    region TEXT,
    action TEXT,
    model_version INTEGER,
    pixels_changed INTEGER,
    details TEXT
)
"""
COLUMNS = (
    "id",
    "time",
    "event",
    "reviewer",
    "image",
    "region",
    "action",
    "model_version",
    "pixels_changed",
    "details",
)


class AuditLog:
    """Append-only event log of a project.

    Each :meth:`record` commits before returning, so an event is on disk once the call is back.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30)
        con.execute("PRAGMA synchronous=FULL")
        return con

    def record(
        self,
        event: str,
        *,
        reviewer: str | None = None,
        image: str | None = None,
        region: str | None = None,
        action: str | None = None,
        model_version: int | None = None,
        pixels_changed: int | None = None,
        details: dict | None = None,
    ) -> int:
        """Append one event and return its row id."""
        row = (
            datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            event,
            reviewer,
            image,
            region,
            action,
            None if model_version is None else int(model_version),
            None if pixels_changed is None else int(pixels_changed),
            json.dumps(details) if details else None,
        )
        con = self._connect()
        try:
            with con:
                cur = con.execute(
                    "INSERT INTO events (time, event, reviewer, image, region, action,"
                    " model_version, pixels_changed, details) VALUES (?,?,?,?,?,?,?,?,?)",
                    row,
                )
            return int(cur.lastrowid)
        finally:
            con.close()

    def rows(self, event: str | None = None) -> list[dict]:
        """All events in order, optionally only those of one kind; ``details`` decoded."""
        query = f"SELECT {', '.join(COLUMNS)} FROM events"
        args: tuple = ()
        if event is not None:
            query += " WHERE event = ?"
            args = (event,)
        con = self._connect()
        try:
            out = [
                dict(zip(COLUMNS, r, strict=True))
                for r in con.execute(query + " ORDER BY id", args)
            ]
        finally:
            con.close()
        for r in out:
            r["details"] = json.loads(r["details"]) if r["details"] else {}
        return out
