"""Model version numbers: reserved when a job starts, committed atomically when it ends.

Under ``PROJECT/models/``::

    .vNNNN.reserved/owner.json    the job holding number N (pid, host, event, start time)
    .vNNNN.reserved/intent.json   the audit event and details to log, written when the commit starts
    .vNNNN.reserved/model/        the checkpoint, before it is renamed to ``models/vNNNN``
    vNNNN/                        the committed version: the folder's existence is the version's

A number is reserved with an exclusive ``os.mkdir``, so two jobs never share one, and whatever
``scores/vNNNN`` an earlier, interrupted attempt left is cleared then. The commit
(:func:`napari_noisyfix.model.versions.commit_version`) writes ``intent.json``, the probabilities
under ``scores/vNNNN``, the checkpoint into the reservation, renames it to ``models/vNNNN`` (from
here the version exists), appends the audit row and removes the reservation.

:func:`recover` runs whenever a project is opened for writing (under its lock, so no other
process can be writing): a reservation left by a killed job whose checkpoint landed gets its
audit row (from ``intent.json``, marked ``recovered``) when it has none; one whose checkpoint
never landed is removed with its orphan ``scores/vNNNN``. Reservations of jobs still running in
this process are left alone.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
from datetime import datetime
from pathlib import Path

from ._atomic import read_json, write_json
from .errors import NoisyFixError

_RESERVED = re.compile(r"^\.v(\d{4})\.reserved$")
#: Half-written checkpoint folders of versions written before numbers were reserved.
_WRITING = re.compile(r"^\.v\d{4}\.writing$")
OWNER, INTENT, MODEL = "owner.json", "intent.json", "model"
#: Reservations held by jobs of this process (resolved paths); recovery leaves them alone.
_ACTIVE: set[str] = set()
_ACTIVE_LOCK = threading.Lock()


def _reserved_path(project, version: int) -> Path:
    return project.root / "models" / f".v{int(version):04d}.reserved"


def reserved_versions(project) -> list[int]:
    """Numbers held by reservations (running jobs, or killed ones not yet recovered)."""
    base = project.root / "models"
    if not base.is_dir():
        return []
    found = (_RESERVED.match(p.name) for p in base.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def next_free(project) -> int:
    """The lowest number above every committed and reserved version."""
    return max([0, *project.model_versions(), *reserved_versions(project)]) + 1


class Reservation:
    """A reserved version number; :meth:`land` makes the version exist.

    Parameters
    ----------
    project : Project
        The project (open for writing).
    version : int
        The reserved number.
    """

    def __init__(self, project, version: int):
        self.project, self.version = project, int(version)
        self.path = _reserved_path(project, version)
        self.landed = False
        self.closed = False

    @property
    def model_path(self) -> Path:
        """Where the checkpoint is written before it is renamed into place."""
        return self.path / MODEL

    def write_intent(self, event: str, details: dict) -> None:
        """Record the audit event of the commit, for recovery after a kill."""
        self.project.check_writable("commit a model version")
        write_json(self.path / INTENT, {"event": event, "details": details})

    def land(self) -> Path:
        """Rename the checkpoint to ``models/vNNNN``: from now on the version exists."""
        self.project.check_writable("commit a model version")
        target = self.project.model_dir(self.version)
        if target.exists():
            raise NoisyFixError(f"{target}: version {self.version} exists already")
        os.replace(self.model_path, target)
        self.landed = True
        return target

    def finish(self) -> None:
        """The commit is complete (audit row written): remove the reservation."""
        shutil.rmtree(self.path, ignore_errors=True)
        self._forget()

    def abandon(self) -> None:
        """After a failure or a cancel: undo an unlanded version; a landed one is left for
        :func:`recover` (it is complete but for its audit row). Idempotent."""
        if self.closed:
            return
        if not self.landed and self.project.writable:
            _remove_unlanded(self.project, self.version)
        self._forget()

    def _forget(self) -> None:
        self.closed = True
        with _ACTIVE_LOCK:
            _ACTIVE.discard(str(self.path.resolve()))


def reserve(project, event: str) -> Reservation:
    """Reserve the next version number for a job (``train``, ``update``) of this process.

    Raises
    ------
    NoisyFixError
        When the project is read-only or closed.
    """
    project.check_writable(f"start {event}")
    (project.root / "models").mkdir(parents=True, exist_ok=True)
    version = next_free(project)
    while True:
        try:
            os.mkdir(_reserved_path(project, version))
            break
        except FileExistsError:
            version += 1
    reservation = Reservation(project, version)
    with _ACTIVE_LOCK:
        _ACTIVE.add(str(reservation.path.resolve()))
    shutil.rmtree(project.root / "scores" / f"v{version:04d}", ignore_errors=True)
    write_json(reservation.path / OWNER, _owner(event))
    return reservation


def _owner(event: str) -> dict:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "event": event,
        "since": datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def _remove_unlanded(project, version: int) -> None:
    shutil.rmtree(project.root / "scores" / f"v{version:04d}", ignore_errors=True)
    shutil.rmtree(_reserved_path(project, version), ignore_errors=True)


def recover(project) -> list[str]:
    """Finish or undo the version commits of killed jobs; returns one line per repair."""
    notes = []
    for version in reserved_versions(project):
        path = _reserved_path(project, version)
        with _ACTIVE_LOCK:
            if str(path.resolve()) in _ACTIVE:
                continue
        if project.model_dir(version).is_dir():
            notes.append(_complete(project, version, path))
            shutil.rmtree(path, ignore_errors=True)
        else:
            _remove_unlanded(project, version)
            notes.append(f"model version {version}: interrupted before it was saved; removed")
    for path in (project.root / "models").glob(".v*.writing"):
        if _WRITING.match(path.name):
            shutil.rmtree(path, ignore_errors=True)
            notes.append(f"{path.name}: half-written checkpoint removed")
    return notes


def _complete(project, version: int, path: Path) -> str:
    """Add the audit row of a landed version that has none."""
    intent = _read(path / INTENT) or {}
    event = str(intent.get("event") or (_read(path / OWNER) or {}).get("event") or "train")
    if any(r["model_version"] == version for r in project.log.rows(event)):
        return f"model version {version}: commit finished"
    details = intent.get("details") if isinstance(intent.get("details"), dict) else {}
    project.log.record(event, model_version=version, details={**details, "recovered": True})
    return f"model version {version}: saved but not logged when interrupted; audit row added"


def _read(path: Path) -> dict | None:
    try:
        data = read_json(path)
    except NoisyFixError:
        return None
    return data if isinstance(data, dict) else None
