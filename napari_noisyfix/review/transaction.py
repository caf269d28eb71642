"""One review action = one transaction over every file it touches and its audit-log row.

The protocol (a write-ahead intent in the SQLite log):

a. one SQLite transaction writes the action's row as ``pending`` and, per image, the content
   keys of the mask and reviewed map before and after;
b. the snapshots (before and after) are stored in the journal, durably, if not there yet;
c. the working files are written atomically (or removed, to go back to the original mask);
d. one SQLite transaction marks the row ``committed``; only then does the call return.

A kill before (d) leaves a pending row that :func:`~napari_noisyfix.review.journal.recover`
rolls back when the project is next opened; any fault in (b) to (d) is rolled back at once and
raised as a one-line :class:`~napari_noisyfix.errors.NoisyFixError` naming the file.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import NoisyFixError
from ..faults import os_problem
from .history import ImageState
from .journal import (
    KINDS,
    Stamp,
    blob_path,
    normalise,
    prune,
    put,
    restore,
    roll_back,
    state_key,
    store,
    working_path,
)

PRUNE_EVERY = 50


@dataclass
class Change:
    """What a transaction does to one image: its files' contents and keys before and after."""

    name: str
    before: ImageState
    after: ImageState
    before_stamp: Stamp
    after_stamp: Stamp

    def journal_row(self) -> tuple:
        """``(mask_before, mask_after, reviewed_before, reviewed_after)`` for the log."""
        b, a = self.before_stamp, self.after_stamp
        return (b.mask, a.mask, b.reviewed, a.reviewed)


def change_from(name: str, stamp: Stamp, before: ImageState, after: ImageState) -> Change:
    """The change of an image from ``before`` (its files now, keys ``stamp``) to ``after``.

    A file whose contents stay the same keeps its key (and is not rewritten).
    """
    after = ImageState(normalise("mask", after.mask), np.asarray(after.reviewed, bool))
    keys = []
    for kind, key in zip(KINDS, stamp, strict=True):
        new, old = getattr(after, kind), getattr(before, kind)
        same = new.shape == old.shape and np.array_equal(new, old)
        keys.append(key if same else state_key(kind, new))
    return Change(name, before, after, stamp, Stamp(*keys))


class Journal:
    """Runs the transactions of one review session.

    Parameters
    ----------
    project : Project
        The project opened for writing.
    """

    def __init__(self, project):
        self.project = project
        self.unfinished: set[int] = set()

    def run(self, kind: str, changes: list[Change], **fields) -> int:
        """Apply ``changes`` and log action ``kind`` as one transaction; return the row id.

        ``fields`` are the other columns of the log row (reviewer, image, region, ...).
        """
        check = getattr(self.project, "check_writable", None)
        if check is not None:
            check(f"save the {kind}")
        self._finish_unfinished()
        log = self.project.log
        journal = {c.name: c.journal_row() for c in changes}
        try:
            row = log.begin("review", journal, action=kind, **fields)
        except Exception as exc:  # noqa: BLE001 (nothing is written yet)
            raise NoisyFixError(_failure_text(log.path, kind, exc, True)) from exc
        try:
            self._apply(changes)
            log.finish(row, "committed")
        except BaseException as exc:
            restored = self._abort(row, changes)
            if not isinstance(exc, Exception):
                raise
            raise NoisyFixError(_failure_text(self.project.root, kind, exc, restored)) from exc
        if row % PRUNE_EVERY == 0:
            self._prune()
        return row

    def _prune(self) -> None:
        """Drop journal snapshots no undo needs any more (a failure only delays it)."""
        with contextlib.suppress(NoisyFixError, OSError):
            prune(self.project)

    def _apply(self, changes: list[Change]) -> None:
        """Steps (b) and (c): snapshots into the journal, then the working files."""
        for c in changes:
            for state, stamp in ((c.before, c.before_stamp), (c.after, c.after_stamp)):
                for kind, key in zip(KINDS, stamp, strict=True):
                    if key is not None:
                        path = blob_path(self.project, key)
                        _guarded(path, store, self.project, key, getattr(state, kind))
        for c in changes:
            for kind, old, new in zip(KINDS, c.before_stamp, c.after_stamp, strict=True):
                if old != new:
                    path = working_path(self.project, c.name, kind)
                    _guarded(path, put, self.project, c.name, kind, new, getattr(c.after, kind))

    def _abort(self, row: int, changes: list[Change]) -> bool:
        """Put every touched file back and mark the row rolled back; False if that failed."""
        try:
            for c in changes:
                restore(self.project, c.name, c.before_stamp, c.before)
            self.project.log.finish(row, "rolled_back")
            return True
        except Exception:  # noqa: BLE001 (the next action or the next open finishes it)
            self.unfinished.add(row)
            return False

    def _finish_unfinished(self) -> None:
        """Roll back actions whose rollback failed earlier (a full disk, say) before a new one."""
        for row in sorted(self.unfinished):
            try:
                roll_back(self.project, row)
            except (NoisyFixError, OSError) as exc:
                raise NoisyFixError(
                    f"{self.project.root}: an earlier action could not be rolled back yet"
                    f" ({exc}); free space and try again, or reopen the project"
                ) from exc
            self.unfinished.discard(row)


def _guarded(path: Path, write, *args) -> None:
    """Run one write of ``path``; any fault becomes a one-line error naming the file."""
    try:
        write(*args)
    except NoisyFixError:
        raise
    except Exception as exc:  # noqa: BLE001 (OSError, MemoryError, ...: all one-line errors)
        raise NoisyFixError(f"{path}: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    """The short reason of a fault: the OS problem in words, else the text, else the type."""
    if isinstance(exc, OSError):
        return os_problem(exc)
    return str(exc).strip() or type(exc).__name__


def one_line_faults(method):
    """Make every OS, SQLite or memory fault of a session action a one-line NoisyFixError.

    Faults inside the transaction are already rolled back and reported; this catches those
    before it (reading the files), so that a key handler never sees a raw exception.
    """

    @functools.wraps(method)
    def action(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except NoisyFixError:
            raise
        except (OSError, MemoryError, sqlite3.Error) as exc:
            raise NoisyFixError(
                f"{self.project.root}: {_reason(exc)}; the {method.__name__} was not saved"
            ) from exc

    return action


def _failure_text(where: Path, kind: str, exc: Exception, restored: bool) -> str:
    """One line: what failed, that the action was not saved, and whether files are restored."""
    text = str(exc) if isinstance(exc, NoisyFixError) else f"{where}: {_reason(exc)}"
    text = f"{text}; the {kind} was not saved"
    if not restored:
        text += " (some files are restored at the next action or when the project is reopened)"
    return text
