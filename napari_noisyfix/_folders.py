"""Folders built aside and swapped into place, and the guards that keep ``--force`` harmless.

A project or an export is built in a hidden staging folder next to its target,
``.<name>.<16 hex>.<kind>``, that holds a marker file locked (``flock``) by the building process.
:meth:`Staging.commit` moves an existing target aside (``.<name>.<16 hex>.trash``), renames the
staging folder into place and only then deletes the old one, so a crash at any moment leaves the
old folder or the new one. Leftovers of killed runs are cleaned by the next run in the same parent
folder, and only when they are provably ours: a staging folder whose marker nobody holds any
more, a moved-aside folder that the caller recognises as its own (it is restored when its target
is missing, deleted otherwise). ``--force`` replaces only a folder that the caller recognises as
its own, and no output may be, contain or lie inside an input (:func:`check_apart`).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from ._atomic import fsync_dir
from .errors import NoisyFixError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: leftovers are never taken for stale
    fcntl = None

BUILDING = ".noisyfix-building"
KINDS = ("creating", "exporting")
_LEFTOVER = re.compile(r"^\.(?P<target>.+)\.[0-9a-f]{16}\.(?P<kind>creating|exporting|trash)$")


# ---------------------------------------------------------------------- guards
def _real(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(path))


def _same(a: Path, b: Path) -> bool:
    if a == b:
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_apart(out: str | os.PathLike, inputs: Iterable[tuple[str, str | os.PathLike]], role: str):
    """Refuse an output that is, contains or lies inside one of ``inputs`` (real paths compared).

    Parameters
    ----------
    out : path
        The folder about to be written (and, with ``--force``, replaced).
    inputs : iterable of (str, path)
        What each protected path is (``"images folder"``, ``"project"``...) and the path.
    role : str
        What ``out`` is, for the message (``"project folder"``, ``"output folder"``).
    """
    real_out = _real(out)
    for what, path in inputs:
        real = _real(path)
        if _same(real_out, real):
            raise NoisyFixError(f"{out}: is the {what} itself; choose another {role}")
        if real.is_relative_to(real_out):
            raise NoisyFixError(f"{out}: contains the {what} {path}; choose a {role} outside it")
        if real_out.is_relative_to(real):
            raise NoisyFixError(f"{out}: lies inside the {what} {path}; choose a {role} outside it")


def _listing(folder: Path) -> str:
    names = sorted(p.name for p in folder.iterdir())
    shown = ", ".join(names[:3])
    return shown + (f", ... ({len(names)} entries)" if len(names) > 3 else "")


def check_replaceable(target: Path, is_ours: Callable[[Path], bool], what: str, marker: str):
    """Refuse to replace ``target`` unless it is absent, an empty folder, or ours.

    ``is_ours(target)`` recognises a folder this program made (a project with its
    ``project.json``, an export with its marker); ``marker`` names that file in the message.
    """
    target = Path(target)
    if target.is_symlink():
        raise NoisyFixError(
            f"{target}: is a symbolic link (to {_real(target)}); give the real folder"
        )
    if not target.exists():
        return
    if not target.is_dir():
        raise NoisyFixError(f"{target}: exists and is not a folder; --force replaces only folders")
    if any(target.iterdir()) and not is_ours(target):
        raise NoisyFixError(
            f"{target}: not a noisyfix {what} (no {marker}; found {_listing(target)}); "
            "--force replaces only a folder noisyfix made: remove it yourself or choose another"
        )


# ---------------------------------------------------------------------- markers
def _hold_marker(folder: Path) -> int | None:
    """Create ``folder/BUILDING`` already locked by us (rename of a locked file); its fd."""
    fresh = folder / f"{BUILDING}.new"
    fd = os.open(fresh, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, json.dumps({"pid": os.getpid()}).encode())
        os.replace(fresh, folder / BUILDING)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _is_stale(folder: Path) -> bool:
    """Whether a staging folder is ours and its builder has gone (nobody holds its marker)."""
    if fcntl is None:
        return False
    marker = folder / BUILDING
    if not marker.is_file():
        marker = folder / f"{BUILDING}.new"  # killed between creating and naming the marker
    try:
        fd = os.open(marker, os.O_RDONLY)
    except OSError:
        return False  # no marker: not provably ours
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- leftovers
def clean_leftovers(parent: Path, is_ours: Callable[[Path], bool]) -> list[Path]:
    """Remove or restore what killed runs left in ``parent``; returns the paths dealt with."""
    done = []
    try:
        entries = [p for p in Path(parent).iterdir() if p.name.startswith(".")]
    except OSError:
        return done
    for path in entries:
        match = _LEFTOVER.match(path.name)
        if match is None or path.is_symlink() or not path.is_dir():
            continue
        if match["kind"] == "trash":
            if _settle_trash(path, Path(parent) / match["target"], is_ours):
                done.append(path)
        elif _is_stale(path):
            shutil.rmtree(path, ignore_errors=True)
            done.append(path)
    return done


def _settle_trash(trash: Path, target: Path, is_ours: Callable[[Path], bool]) -> bool:
    """An old folder moved aside by a killed swap: restore it, or delete it once replaced."""
    if not is_ours(trash):
        return False
    try:
        if not target.exists() and not target.is_symlink():
            os.replace(trash, target)
            return True
    except OSError:
        return False  # another run put a target there meanwhile
    shutil.rmtree(trash, ignore_errors=True)
    return True


# ---------------------------------------------------------------------- staging
class Staging:
    """A hidden folder next to ``target`` where its new content is built, then swapped in.

    Parameters
    ----------
    target : path
        The folder to create or replace.
    kind : {"creating", "exporting"}
        Part of the staging folder's name.
    is_ours : callable
        Recognises a folder of this kind made by noisyfix (for leftovers of killed runs).
    """

    def __init__(self, target: str | os.PathLike, kind: str, is_ours: Callable[[Path], bool]):
        if kind not in KINDS:
            raise ValueError(f"staging kind {kind!r}: choose one of {KINDS}")
        self.target, self.is_ours = Path(target), is_ours
        parent = self.target.parent
        parent.mkdir(parents=True, exist_ok=True)
        clean_leftovers(parent, is_ours)
        self.path = parent / f".{self.target.name}.{secrets.token_hex(8)}.{kind}"
        try:
            self.path.mkdir()
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(self.target)) from exc
        self._fd = None
        try:
            self._fd = _hold_marker(self.path)
        except BaseException:
            shutil.rmtree(self.path, ignore_errors=True)
            raise

    def _release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _move_aside(self) -> Path | None:
        if not self.target.exists():
            return None
        trash = self.target.with_name(f".{self.target.name}.{secrets.token_hex(8)}.trash")
        os.replace(self.target, trash)
        return trash

    def commit(self, what: str, marker: str) -> Path:
        """Swap the built folder into place (replacing a target only when it is ours)."""
        check_replaceable(self.target, self.is_ours, what, marker)
        trash = self._move_aside()
        try:
            os.replace(self.path, self.target)
        except BaseException:
            if trash is not None:
                os.replace(trash, self.target)
            raise
        (self.target / BUILDING).unlink(missing_ok=True)
        self._release()
        fsync_dir(self.target.parent)
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)
        return self.target

    def abort(self) -> None:
        """Remove the staging folder (after a failure or a cancel).

        Called while an ``OSError`` about a file in the staging folder is being handled, it
        makes that error name the file's place in the target instead (``OUT/masks/a.png: disk
        full``, not the hidden folder that is gone).
        """
        self._release()
        shutil.rmtree(self.path, ignore_errors=True)
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError) and exc.filename is not None:
            exc.filename = self._shown(exc.filename)

    def _shown(self, filename) -> str:
        path = Path(os.fsdecode(filename))
        if path == self.path or path.is_relative_to(self.path):
            return str(self.target / path.relative_to(self.path))
        return os.fsdecode(filename)
