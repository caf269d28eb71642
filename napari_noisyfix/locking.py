"""One writer per project: an OS-level advisory lock on ``PROJECT/.lock``.

A project opened for writing (``Project.open(root)``, ``Project.create``) holds an exclusive,
non-blocking lock on ``PROJECT/.lock`` (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows)
for as long as the :class:`~napari_noisyfix.project.Project` lives: until ``close()``, the end of
its ``with`` block, its garbage collection or the interpreter's exit. The file records the holder
(pid, host, user, command, start time) as JSON, only to name it when a second writer is refused.

* A second writer, in another process or through another ``Project`` object of the same process,
  gets one line: ``PROJECT: open for writing by USER (pid N, 'noisyfix review', since TIME); close
  it there, or open read-only``.
* A stale lock needs no cleaning: the operating system frees it when its process dies (even on
  ``kill -9``); the next writer takes it silently and writes its own record over the old one. The
  file itself is never deleted (deleting a lock file races with the next writer).
* Readers (``Project.open(root, mode="read")``) take no lock and create nothing; they may run beside
  the writer and each other. A reader may view the project (``napari`` reader, ``noisyfix review``
  when a writer is there already, the widget) and export it (``noisyfix export``: masks, log and
  model are only read). Scoring, training, updating, reviewing and ``noisyfix evaluate`` (it writes
  ``reports/``) write, so they need the lock. A reader sees the files as they are on disk: a
  corrected mask saved by the writer shows up the next time it is read.

The lock is advisory: programs that do not use it (a file manager, ``rm``) are not stopped. On
network file systems ``flock`` may be local to one machine; keep a project on a local disk or
review it from one machine at a time.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
from datetime import datetime
from pathlib import Path

from .errors import NoisyFixError

LOCK_FILE = ".lock"
NOT_WRITABLE = "the folder cannot be written"
#: Byte locked on Windows: far past the holder record, so readers can still read the record.
_WIN_OFFSET = 1 << 20

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None
try:  # Windows
    import msvcrt
except ImportError:
    msvcrt = None


class LockError(NoisyFixError):
    """The project cannot be opened for writing; it can still be opened read-only.

    ``reason`` is the short why (``open for writing by ...``), for a read-only fallback.
    """

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class ProjectLocked(LockError):
    """Another writer holds the project's lock."""


class NotWritable(LockError):
    """The project folder cannot be written (permissions, a read-only medium)."""


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return "unknown user"


def _command() -> str:
    """A short name of the running program: ``noisyfix review``, ``napari``, ``python -c``."""
    argv = sys.argv or [""]
    prog = Path(argv[0] or "python").name
    if prog in ("-c", "-m", "-", ""):
        return f"python {prog or '-'}"
    if prog.removesuffix(".exe") == "noisyfix" or prog == "cli.py":
        prog = "noisyfix"
    first = argv[1] if len(argv) > 1 else ""
    return f"{prog} {first[:60]}".strip()


def holder_record() -> dict:
    """What this process writes into the lock file when it takes the lock."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "user": _user(),
        "command": _command(),
        "argv": list(sys.argv),
        "since": datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def read_holder(root: str | os.PathLike) -> dict | None:
    """The holder record of a project's lock file (None if absent or unreadable)."""
    try:
        text = (Path(root) / LOCK_FILE).read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def describe_holder(holder: dict | None) -> str:
    """``open for writing by USER (pid N, 'CMD', since TIME)`` from a holder record."""
    if not holder:
        return "open for writing by another program"
    where = ""
    if holder.get("host") and holder.get("host") != socket.gethostname():
        where = f" on {holder['host']}"
    since = str(holder.get("since", "?")).replace("T", " ")[:19]
    return (
        f"open for writing by {holder.get('user', 'unknown user')}{where} "
        f"(pid {holder.get('pid', '?')}, {holder.get('command', '?')!r}, since {since})"
    )


def _try_lock(fd: int) -> bool:
    """Take the exclusive lock on ``fd`` without waiting; False when someone holds it."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (BlockingIOError, PermissionError):
            return False
        return True
    if msvcrt is not None:  # pragma: no cover - Windows
        os.lseek(fd, _WIN_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    raise NoisyFixError(
        "this platform offers no file locks (neither fcntl nor msvcrt); open projects read-only"
    )


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
    elif msvcrt is not None:  # pragma: no cover - Windows
        os.lseek(fd, _WIN_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _open_lock_file(folder: Path, shown: Path) -> tuple[int, bool]:
    """Open (creating) the lock file; returns the descriptor and whether it can be written."""
    path = folder / LOCK_FILE
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o666), True
    except PermissionError:
        if path.is_file():  # someone else's lock file: lock it without a holder record
            try:
                return os.open(path, os.O_RDONLY), False
            except OSError:
                pass
        raise NotWritable(
            f"{shown}: the folder cannot be written; open it read-only", NOT_WRITABLE
        ) from None
    except OSError as exc:
        why = f"cannot create the lock file ({exc.strerror or exc})"
        raise NotWritable(f"{shown}: {why}; open it read-only", why) from exc


class ProjectLock:
    """The exclusive write lock of one project folder, held until :meth:`release`.

    Use :meth:`acquire`; ``shown`` is the folder named in messages (a project being created is
    locked in its temporary folder, which is then renamed: the lock moves with it).
    """

    def __init__(self, fd: int, path: Path):
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, folder: str | os.PathLike, shown: str | os.PathLike | None = None):
        """Lock ``folder`` for writing or raise :class:`ProjectLocked` / :class:`NotWritable`."""
        folder = Path(folder)
        shown = Path(shown) if shown is not None else folder
        if not os.access(folder, os.W_OK):
            raise NotWritable(f"{shown}: {NOT_WRITABLE}; open it read-only", NOT_WRITABLE)
        fd, writable = _open_lock_file(folder, shown)
        try:
            if not _try_lock(fd):
                holder = describe_holder(read_holder(folder))
                raise ProjectLocked(f"{shown}: {holder}; close it there, or open read-only", holder)
            if writable:
                _write_record(fd)
        except BaseException:
            os.close(fd)
            raise
        return cls(fd, folder / LOCK_FILE)

    @property
    def held(self) -> bool:
        """Whether the lock is still held."""
        return self._fd is not None

    def release(self) -> None:
        """Give the lock back (idempotent); the file stays."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            _unlock(fd)
        except OSError:
            pass  # closing the descriptor frees the lock anyway
        finally:
            os.close(fd)


def _write_record(fd: int) -> None:
    data = (json.dumps(holder_record()) + "\n").encode("utf-8")
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, data)
