"""The audit log: every event (import, training, review action) with time and reviewer, in SQLite (WAL).

A review action is a transaction in two steps: :meth:`AuditLog.begin` writes its row as
``pending`` together with the journal of the images it touches (the state keys before and
after, see :mod:`napari_noisyfix.review.journal`), :meth:`AuditLog.finish` marks it
``committed`` (or ``rolled_back``). Readers see committed rows only; rows written before the
``status`` column existed count as committed.

Every SQLite fault (a corrupt file, a missing folder, a full disk, a lock held elsewhere) is
raised as a one-line :class:`~napari_noisyfix.errors.NoisyFixError` naming the file.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from .errors import NoisyFixError

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
    details TEXT,
    status TEXT NOT NULL DEFAULT 'committed'
)
"""
JOURNAL_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    event_id INTEGER NOT NULL REFERENCES events(id),
    image TEXT NOT NULL,
    mask_before TEXT,
    mask_after TEXT,
    reviewed_before TEXT,
    reviewed_after TEXT,
    PRIMARY KEY (event_id, image)
)
"""
STATUS_INDEX = "CREATE INDEX IF NOT EXISTS events_status ON events(status)"
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
JOURNAL_COLUMNS = ("mask_before", "mask_after", "reviewed_before", "reviewed_after")
STATUSES = ("pending", "committed", "rolled_back")
CORRUPT = (
    "not a SQLite database or damaged; restore it from a backup or move it aside to start a new log"
)


class AuditLog:
    """Append-only event log of a project.

    Each :meth:`record` commits before returning, so an event is on disk once the call is back.

    Parameters
    ----------
    path : path
        The ``log.sqlite`` file; created (in WAL mode) when missing unless ``read_only``.
    read_only : bool
        Open with a read-only URI and refuse every write (a project opened for viewing).

    Attributes
    ----------
    timeout : float
        Seconds to wait for a lock another connection holds before giving up.
    """

    timeout = 30.0

    def __init__(self, path: str | Path, read_only: bool = False):
        self.path = Path(path)
        self.read_only = bool(read_only)
        if self.read_only and not self.path.is_file():
            raise NoisyFixError(f"{self.path}: no audit log (file not found)")
        with self._session() as con:
            tables = _tables(con)
            if not self.read_only:
                _prepare(con, tables)
                tables = _tables(con)
        self._has_status = "status" in tables.get("events", ())
        self._has_journal = "journal" in tables

    # ------------------------------------------------------------------ connections
    def _connect(self) -> sqlite3.Connection:
        if not self.read_only:
            con = sqlite3.connect(self.path, timeout=self.timeout)
            con.execute("PRAGMA synchronous=FULL")
            return con
        uri = self.path.resolve().as_uri()
        try:
            con = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=self.timeout)
            con.execute("SELECT count(*) FROM sqlite_master")
            return con
        except sqlite3.OperationalError:
            # a WAL database in a folder we cannot write to: read it as an immutable file
            return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=self.timeout)

    @contextmanager
    def _session(self) -> Iterator[sqlite3.Connection]:
        """A connection whose SQLite faults become one-line errors naming the file."""
        con = None
        try:
            con = self._connect()
            yield con
        except sqlite3.Error as exc:
            raise NoisyFixError(_fault_text(self.path, exc)) from exc
        finally:
            if con is not None:
                con.close()

    def _writable(self) -> None:
        if self.read_only:
            raise NoisyFixError(f"{self.path}: the audit log is open read-only; nothing is written")

    # ------------------------------------------------------------------ writing
    def record(self, event: str, **fields) -> int:
        """Append one committed event and return its row id (``fields``: see :meth:`_append`)."""
        return self._append(event, {}, "committed", **fields)

    def begin(self, event: str, journal: dict[str, tuple], **fields) -> int:
        """Write a ``pending`` event and its journal in one SQLite transaction; return its id.

        Parameters
        ----------
        journal : dict
            Per image name, ``(mask_before, mask_after, reviewed_before, reviewed_after)``
            state keys (None: the file is absent).
        fields
            As for :meth:`_append`.
        """
        return self._append(event, journal, "pending", **fields)

    def _append(
        self,
        event: str,
        journal: dict[str, tuple],
        status: str,
        *,
        reviewer: str | None = None,
        image: str | None = None,
        region: str | None = None,
        action: str | None = None,
        model_version: int | None = None,
        pixels_changed: int | None = None,
        details: dict | None = None,
    ) -> int:
        """Insert one event with ``status`` and its journal rows in one SQLite transaction."""
        fields = _fields(
            event, reviewer, image, region, action, model_version, pixels_changed, details
        )
        self._writable()
        with self._session() as con, con:
            row = _insert(con, fields, status)
            con.executemany(
                f"INSERT INTO journal (event_id, image, {', '.join(JOURNAL_COLUMNS)})"
                " VALUES (?,?,?,?,?,?)",
                [(row, name, *keys) for name, keys in journal.items()],
            )
        return row

    def finish(self, row: int, status: str = "committed") -> None:
        """Mark a pending event ``committed`` or ``rolled_back`` (one SQLite transaction)."""
        if status not in STATUSES[1:]:
            raise ValueError(f"unknown final status {status!r}")
        self._writable()
        with self._session() as con, con:
            con.execute(
                "UPDATE events SET status = ? WHERE id = ? AND status = 'pending'", (status, row)
            )

    # ------------------------------------------------------------------ reading
    def rows(self, event: str | None = None, status: str | None = "committed") -> list[dict]:
        """Events in order, optionally of one kind; ``details`` decoded.

        ``status`` picks committed rows by default (those that happened); None gives every row.
        """
        where, args = [], []
        if event is not None:
            where.append("event = ?")
            args.append(event)
        if status is not None and self._has_status:
            where.append("status = ?")
            args.append(status)
        elif status not in (None, "committed"):
            return []
        query = f"SELECT {', '.join(COLUMNS)} FROM events"
        query += f" WHERE {' AND '.join(where)}" if where else ""
        with self._session() as con:
            out = [
                dict(zip(COLUMNS, r, strict=True))
                for r in con.execute(query + " ORDER BY id", args)
            ]
        for r in out:
            r["details"] = json.loads(r["details"]) if r["details"] else {}
        return out

    def pending(self) -> list[dict]:
        """Events begun but neither committed nor rolled back (an interrupted action)."""
        return self.rows(status="pending")

    def status(self, row: int) -> str | None:
        """Status of one event (None if there is no such row)."""
        query = "SELECT status FROM events WHERE id = ?"
        if not self._has_status:
            query = "SELECT 'committed' FROM events WHERE id = ?"
        with self._session() as con:
            found = con.execute(query, (row,)).fetchone()
        return None if found is None else found[0]

    def journal(self, rows: list[int]) -> dict[int, dict[str, tuple]]:
        """Journal of events: ``{row: {image: (mask_before, mask_after, reviewed_before,
        reviewed_after)}}``; events without one are left out."""
        out: dict[int, dict[str, tuple]] = {}
        if not self._has_journal or not rows:
            return out
        with self._session() as con:
            for start in range(0, len(rows), 500):
                chunk = list(rows[start : start + 500])
                marks = ",".join("?" * len(chunk))
                for event_id, image, *keys in con.execute(
                    f"SELECT event_id, image, {', '.join(JOURNAL_COLUMNS)} FROM journal"
                    f" WHERE event_id IN ({marks}) ORDER BY event_id, image",
                    chunk,
                ):
                    out.setdefault(event_id, {})[image] = tuple(keys)
        return out

    def integrity(self) -> str:
        """``PRAGMA integrity_check``: ``"ok"`` for a sound database."""
        with self._session() as con:
            return "; ".join(r[0] for r in con.execute("PRAGMA integrity_check"))


# ---------------------------------------------------------------------- helpers
def _tables(con: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    names = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {n: tuple(r[1] for r in con.execute(f"PRAGMA table_info({n})")) for n in names}


def _prepare(con: sqlite3.Connection, tables: dict) -> None:
    """Create the schema or migrate an older one in place; WAL is set here, not on every open."""
    if "events" in tables and "journal" in tables and "status" in tables["events"]:
        return
    con.execute("PRAGMA journal_mode=WAL")
    with con:
        con.execute(SCHEMA)
        if "status" not in tables.get("events", ("status",)):
            con.execute("ALTER TABLE events ADD COLUMN status TEXT NOT NULL DEFAULT 'committed'")
        con.execute(JOURNAL_SCHEMA)
        con.execute(STATUS_INDEX)


def _fields(event, reviewer, image, region, action, model_version, pixels_changed, details):
    return (
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


def _insert(con: sqlite3.Connection, fields: tuple, status: str) -> int:
    cur = con.execute(
        "INSERT INTO events (time, event, reviewer, image, region, action,"
        " model_version, pixels_changed, details, status) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (*fields, status),
    )
    return int(cur.lastrowid)


def _fault_text(path: Path, exc: sqlite3.Error) -> str:
    """One line for a SQLite fault: the file, what went wrong, what to do."""
    text = str(exc).strip() or type(exc).__name__
    if type(exc) is sqlite3.DatabaseError or "malformed" in text or "not a database" in text:
        return f"{path}: {CORRUPT} ({text})"
    if "locked" in text or "busy" in text:
        return f"{path}: the audit log is locked by another program ({text}); close it and retry"
    if "readonly" in text or "read-only" in text:
        return f"{path}: the audit log cannot be written ({text}); open the project read-only"
    return (
        f"{path}: cannot use the audit log ({text}); check the folder's permissions and free space"
    )
