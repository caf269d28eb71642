"""Atomic file writes: a crash leaves either the old file or the new one, never half of one.

Files get the permissions the user's umask gives (``0o666 & ~umask``), not ``mkstemp``'s 0600;
a durable write also forces the folder entry to disk after the rename.
"""

from __future__ import annotations

import csv
import errno
import functools
import io
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .errors import NoisyFixError

_UMASK_LOCK = threading.Lock()
#: ``fsync`` on a folder is refused by some file systems; that only loses the extra guarantee.
_NO_DIR_SYNC = {errno.EINVAL, errno.EBADF, errno.EACCES, getattr(errno, "ENOTSUP", errno.EINVAL)}


@functools.cache
def umask() -> int:
    """The process umask, read once (from ``/proc`` on Linux, else by setting it back at once)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:  # os.umask can only be read by setting it; 0o077 is the safe side meanwhile
        current = os.umask(0o077)
        os.umask(current)
    return current


def file_mode() -> int:
    """Permission bits of a new file: ``0o666`` less the umask."""
    return 0o666 & ~umask()


def fsync_dir(folder: str | os.PathLike) -> None:
    """Force a folder's entries (a rename into it) to disk; a no-op where folders cannot sync."""
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.errno not in _NO_DIR_SYNC:
            raise


def _named(exc: OSError, path: Path) -> OSError:
    """The same fault naming the target ``path`` (not the hidden temporary file)."""
    if exc.errno is None:
        return exc
    return OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(path))


def _write_temp(fd: int, write: Callable[[BinaryIO], object], durable: bool) -> None:
    with os.fdopen(fd, "wb") as fh:
        if hasattr(os, "fchmod"):
            os.fchmod(fh.fileno(), file_mode())
        write(fh)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())


def atomic_write(
    path: str | os.PathLike, write: Callable[[BinaryIO], object], durable: bool = True
) -> Path:
    """Write ``path`` by ``write(fh)`` into a temporary file in the same folder, then
    ``os.replace``: a large file is written as it is made, never held whole in memory.

    ``durable`` also forces the data to disk before the rename and the folder entry after it
    (``fsync``), so that even a power cut leaves the old file or the new one; caches that can be
    recomputed skip it (it costs milliseconds per file). An ``OSError`` (disk full, permission
    denied...) names ``path`` and leaves no temporary file behind.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _named(exc, path) from exc
    try:
        _write_temp(fd, write, durable)
        os.replace(tmp, path)
        if durable:
            fsync_dir(path.parent)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _named(exc, path) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`atomic_write`)."""
    return atomic_write(path, lambda fh: fh.write(data), durable)


def atomic_write_csv(
    path: str | os.PathLike, rows: Iterable[dict], fields, durable: bool = True
) -> Path:
    """Write ``rows`` (dicts, ``fields`` their columns) as a UTF-8 CSV table with a header,
    atomically and row by row (:func:`atomic_write`)."""

    def write(fh: BinaryIO) -> None:
        text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
        writer = csv.DictWriter(text, fieldnames=list(fields), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text.flush()
        text.detach()  # the file is closed by atomic_write

    return atomic_write(path, write, durable)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj, indent: int | None = 2) -> Path:
    """Write ``obj`` as JSON atomically, indented for a person to read (``indent=None``: on
    one line, for a large file only programs read; it is encoded several times faster and
    without a chunk per value in memory)."""
    return atomic_write_text(path, json.dumps(obj, indent=indent, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike):
    """Read JSON, raising :class:`NoisyFixError` naming the file when it is missing or corrupt."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise NoisyFixError(f"{path}: file not found") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NoisyFixError(f"{path}: not valid JSON ({exc})") from exc


def save_npy(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Save an array in ``.npy`` format atomically (never pickled)."""
    array = np.ascontiguousarray(array)
    return atomic_write(path, lambda fh: np.save(fh, array, allow_pickle=False))


def file_stamp(path: str | os.PathLike) -> tuple[int, int] | None:
    """``(mtime_ns, size)`` of a file, or None when it is absent: an atomic write (a new file
    moved into place) always changes it, so what was computed from a file is valid while its
    stamp is the same."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


def folder_stamps(folder: str | os.PathLike, suffix: str) -> dict[str, tuple[int, int]]:
    """:func:`file_stamp` of every ``*suffix`` file in ``folder`` by its name less the suffix,
    from one listing (empty when the folder is absent)."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return {}
    out = {}
    for entry in entries:
        if entry.name.endswith(suffix) and entry.is_file():
            st = entry.stat()
            out[entry.name[: -len(suffix)]] = (st.st_mtime_ns, st.st_size)
    return out


def npy_header(fh) -> tuple[tuple[int, ...], np.dtype] | None:
    """Shape and dtype of the ``.npy`` array whose file ``fh`` is open at its start, from its
    header alone (None for a header version numpy reads only with the data)."""
    readers = {
        (1, 0): np.lib.format.read_array_header_1_0,
        (2, 0): np.lib.format.read_array_header_2_0,
    }
    reader = readers.get(np.lib.format.read_magic(fh))
    if reader is None:
        return None
    shape, _, dtype = reader(fh)
    return tuple(shape), np.dtype(dtype)


def npy_dtype(path: str | os.PathLike) -> np.dtype:
    """The dtype of an ``.npy`` file, read from its header (its data only for an unusual one)."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            header = npy_header(fh)
        return header[1] if header is not None else load_npy(path).dtype
    except FileNotFoundError as exc:
        raise NoisyFixError(f"{path}: file not found") from exc
    except (ValueError, OSError, EOFError) as exc:
        raise NoisyFixError(f"{path}: unreadable array file ({exc})") from exc


def load_npy(path: str | os.PathLike) -> np.ndarray:
    """Load an ``.npy`` array without unpickling; a corrupt file raises :class:`NoisyFixError`."""
    path = Path(path)
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError as exc:
        raise NoisyFixError(f"{path}: file not found") from exc
    except (ValueError, OSError, EOFError) as exc:
        raise NoisyFixError(f"{path}: unreadable array file ({exc})") from exc
