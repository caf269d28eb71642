"""One-line messages for faults from outside: the operating system, SQLite and memory.

The CLI (:func:`napari_noisyfix.cli.main`) and the napari widget both report a
:class:`~napari_noisyfix.errors.NoisyFixError`, an ``OSError`` (disk full, permission denied, a
read-only file system...), a ``sqlite3.Error`` or a ``MemoryError`` as one line
``FILE: problem`` through :func:`one_line`, never as a traceback.
"""

from __future__ import annotations

import errno
import os
import sqlite3

from .errors import NoisyFixError

#: What the front doors report in one line instead of a traceback.
FAULTS = (NoisyFixError, OSError, sqlite3.Error, MemoryError)

_WORDS = {
    "ENOSPC": "disk full",
    "EDQUOT": "disk quota exceeded",
    "EACCES": "permission denied",
    "EPERM": "permission denied (operation not permitted)",
    "EROFS": "read-only file system",
    "ENOENT": "file not found",
    "EISDIR": "is a folder, not a file",
    "ENOTDIR": "not a folder",
    "EEXIST": "exists already",
    "ENOTEMPTY": "folder is not empty",
    "EIO": "input/output error (failing disk or lost connection)",
    "EMFILE": "too many open files",
    "ENAMETOOLONG": "file name too long",
}
_PROBLEMS = {getattr(errno, name): words for name, words in _WORDS.items() if hasattr(errno, name)}


def os_problem(exc: OSError) -> str:
    """The problem of an ``OSError`` in a few words (``disk full``, ``permission denied``...)."""
    return _PROBLEMS.get(exc.errno) or exc.strerror or str(exc) or type(exc).__name__


def _os_line(exc: OSError) -> str:
    if exc.filename is None:
        return os_problem(exc)
    return f"{os.fsdecode(exc.filename)}: {os_problem(exc)}"


def _sqlite_line(exc: sqlite3.Error, log) -> str:
    return f"{log if log is not None else 'audit log'}: SQLite error ({exc})"


def _memory_line(exc: MemoryError) -> str:
    detail = str(exc)  # numpy says what it failed to allocate; readers name the file themselves
    return f"out of memory ({detail})" if detail else "out of memory"


def one_line(exc: BaseException, log=None) -> str:
    """``FILE: problem`` for an error from outside, on one line.

    Parameters
    ----------
    exc : BaseException
        Usually one of :data:`FAULTS`; anything else is shown as ``Type: message``.
    log : path, optional
        The audit log file, named for SQLite errors (they do not carry a file name).
    """
    if isinstance(exc, NoisyFixError):
        text = str(exc)
    elif isinstance(exc, OSError):
        text = _os_line(exc)
    elif isinstance(exc, sqlite3.Error):
        text = _sqlite_line(exc, log)
    elif isinstance(exc, MemoryError):
        text = _memory_line(exc)
    else:
        text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())
