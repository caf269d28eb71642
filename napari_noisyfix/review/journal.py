"""The review journal: snapshots of working masks and reviewed maps, and recovery on open.

A snapshot is stored once under its content key (SHA-1 of dtype, shape and bytes) as
``PROJECT/journal/<key>.npy``, written durably before any working file changes. The audit log's
``journal`` table says, per action and image, which key the mask and the reviewed map had
before and after (None: the file is absent, i.e. the original mask or no reviewed pixel). So an
interrupted action can be rolled back, and undo / redo still work after a restart.

Only this module and :mod:`.transaction` write the working files of a review action.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .._atomic import load_npy, save_npy
from ..errors import NoisyFixError
from .history import MAX_ACTIONS, UNDOABLE, Action, History, ImageState, replay

JOURNAL = "journal"
KINDS = ("mask", "reviewed")
FOLDERS = {"mask": "corrections", "reviewed": "reviewed"}
UNREADABLE = "unreadable"


class Stamp(NamedTuple):
    """Content keys of one image's working mask and reviewed map (None: file absent)."""

    mask: str | None
    reviewed: str | None


# ---------------------------------------------------------------------- keys and files
def normalise(kind: str, array: np.ndarray) -> np.ndarray:
    """The array as stored: uint8 class ids (uint16 object ids in an instance project) for a
    mask, bool for a reviewed map."""
    if kind != "mask":
        return np.ascontiguousarray(array, dtype=bool)
    return np.ascontiguousarray(array, dtype=np.uint16 if array.dtype == np.uint16 else np.uint8)


def state_key(kind: str, array: np.ndarray) -> str:
    """Content key of a mask or reviewed map: SHA-1 of its dtype, shape and bytes."""
    array = normalise(kind, array)
    head = f"{array.dtype.str}|{array.shape}|".encode()
    return hashlib.sha1(head + array.tobytes()).hexdigest()


def working_path(project, name: str, kind: str) -> Path:
    """The working file of ``kind`` (``mask`` or ``reviewed``) of an image."""
    return project.root / FOLDERS[kind] / f"{project.entry(name)['name']}.npy"


def blob_path(project, key: str) -> Path:
    """Where the snapshot with content key ``key`` is kept."""
    return project.root / JOURNAL / f"{key}.npy"


def fallback(project, name: str, kind: str) -> np.ndarray:
    """What an absent working file means: the original mask, or no reviewed pixel."""
    if kind == "mask":
        return project.original_labels(name)
    return np.zeros(tuple(project.entry(name)["shape"]), dtype=bool)


def store(project, key: str, array: np.ndarray) -> None:
    """Keep a snapshot (durable, atomic); a key already stored is not written again."""
    path = blob_path(project, key)
    if not path.is_file():
        save_npy(path, array)


def fetch(project, key: str) -> np.ndarray:
    """A stored snapshot, checked against its key."""
    path = blob_path(project, key)
    if not path.is_file():
        raise NoisyFixError(f"{path}: journal snapshot missing (pruned or deleted)")
    array = load_npy(path)
    kind = "reviewed" if array.dtype == bool else "mask"
    if state_key(kind, array) != key:
        raise NoisyFixError(f"{path}: journal snapshot damaged (content does not match its name)")
    return array


def current_key(project, name: str, kind: str) -> str | None:
    """Content key of the working file now on disk (None: absent)."""
    path = working_path(project, name, kind)
    if not path.exists():
        return None
    try:
        return state_key(kind, load_npy(path))
    except NoisyFixError:
        return UNREADABLE


def read_state(project, name: str) -> tuple[Stamp, ImageState]:
    """Keys and contents of an image's working files as they are on disk now."""
    keys, arrays = [], []
    for kind in KINDS:
        path = working_path(project, name, kind)
        present = path.exists()
        array = normalise(kind, load_npy(path) if present else fallback(project, name, kind))
        keys.append(state_key(kind, array) if present else None)
        arrays.append(array)
    return Stamp(*keys), ImageState(*arrays)


def same_state(project, name: str, a: Stamp, b: Stamp) -> bool:
    """Whether two stamps mean the same contents (an absent file equals its fallback)."""
    for kind, ka, kb in zip(KINDS, a, b, strict=True):
        if ka != kb:
            base = state_key(kind, fallback(project, name, kind))
            if (ka or base) != (kb or base):
                return False
    return True


def put(project, name: str, kind: str, key: str | None, array: np.ndarray | None) -> Path:
    """Make a working file hold ``array`` (atomically), or remove it when ``key`` is None."""
    path = working_path(project, name, kind)
    if key is None:
        path.unlink(missing_ok=True)
    elif kind == "mask":
        project.save_mask(name, array)
    else:
        project.set_reviewed(name, array)
    return path


def restore(project, name: str, stamp: Stamp, state: ImageState | None = None) -> bool:
    """Put an image's working files back to ``stamp`` (contents from ``state`` or the journal).

    Files that already match are left alone, so restoring twice is harmless. Returns whether
    anything was written.
    """
    wrote = False
    for kind, key in zip(KINDS, stamp, strict=True):
        if current_key(project, name, kind) == key:
            continue
        array = None
        if key is not None:
            array = getattr(state, kind) if state is not None else fetch(project, key)
        put(project, name, kind, key, array)
        wrote = True
    return wrote


# ---------------------------------------------------------------------- stored history
class StoredStates(Mapping):
    """Image states of a past action, read from the journal when first asked for."""

    def __init__(self, project, stamps: dict[str, Stamp]):
        self.project, self.stamps = project, stamps
        self._loaded: dict[str, ImageState] = {}

    def __getitem__(self, name: str) -> ImageState:
        if name not in self._loaded:
            stamp = self.stamps[name]
            arrays = [
                fallback(self.project, name, kind) if key is None else fetch(self.project, key)
                for kind, key in zip(KINDS, stamp, strict=True)
            ]
            self._loaded[name] = ImageState(*arrays)
        return self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.stamps)

    def __len__(self) -> int:
        return len(self.stamps)


def split_journal(states: dict[str, tuple]) -> tuple[dict[str, Stamp], dict[str, Stamp]]:
    """Before and after stamps per image from the log's journal rows."""
    before = {n: Stamp(k[0], k[2]) for n, k in states.items()}
    after = {n: Stamp(k[1], k[3]) for n, k in states.items()}
    return before, after


def stored_action(project, row: dict, states: dict[str, tuple]) -> Action:
    """A committed action of the log as an undoable :class:`Action` (states read lazily)."""
    before, after = split_journal(states)
    extra = {k: v for k, v in row["details"].items() if k != "regions"}
    return Action(
        row["action"],
        list(row["details"].get("regions", [])),
        StoredStates(project, before),
        StoredStates(project, after),
        int(row["pixels_changed"] or 0),
        row["id"],
        extra,
        before,
        after,
    )


def history_ids(log, limit: int = MAX_ACTIONS) -> tuple[list[int], list[int], dict, dict]:
    """Undo and redo stacks (row ids) replayed from the committed review rows of ``log``."""
    rows = log.rows("review")
    journals = log.journal([r["id"] for r in rows if r["action"] in UNDOABLE])
    done, undone = replay(rows, set(journals), limit)
    return done, undone, {r["id"]: r for r in rows}, journals


def rebuild_history(project, limit: int = MAX_ACTIONS) -> History:
    """The undo / redo history as the log and the journal left it (after a restart too)."""
    done, undone, rows, journals = history_ids(project.log, limit)
    history = History(limit)
    history.done = [stored_action(project, rows[i], journals[i]) for i in done]
    history.undone = [stored_action(project, rows[i], journals[i]) for i in undone]
    return history


# ---------------------------------------------------------------------- recovery
def roll_back(project, row: int) -> list[str]:
    """Restore the images of a pending action to their state before it and mark it rolled back.

    Returns the names of the images it touched.
    """
    states = project.log.journal([row]).get(row, {})
    before, _ = split_journal(states)
    for name, stamp in before.items():
        restore(project, name, stamp)
    project.log.finish(row, "rolled_back")
    return sorted(states)


def describe(row: dict, names: list[str]) -> str:
    """``accept of img3`` / ``undo (of edit) of img0, img1``: what an interrupted action was."""
    what = row["action"] or row["event"]
    of = row["details"].get("of")
    if of:
        what += f" (of {of})"
    return f"{what} of {', '.join(names) if names else 'no image'}"


def recover(project) -> list[str]:
    """Finish what a crash or kill left: run when a project is opened for writing; idempotent.

    Every pending action is rolled back (its images restored from the journal, so nothing
    unacknowledged stays on disk) and marked ``rolled_back``; orphan temporary files of atomic
    writes are removed; journal snapshots no longer needed for undo are pruned.

    Returns
    -------
    list of str
        One plain line per thing done, for the CLI to print and the GUI to show.
    """
    if getattr(project.log, "read_only", False):
        return []
    lines = []
    for row in project.log.pending():
        try:
            names = roll_back(project, row["id"])
        except (NoisyFixError, OSError) as exc:
            raise NoisyFixError(
                f"{project.root}: cannot roll back the interrupted {describe(row, [])}"
                f" ({exc}); free space or fix the file and open the project again"
            ) from exc
        lines.append(f"recovered: rolled back an interrupted {describe(row, names)} (not saved)")
    lines += remove_temp_files(project)
    prune(project)
    return lines


def remove_temp_files(project) -> list[str]:
    """Delete leftover ``.*.tmp`` files of interrupted atomic writes inside the project."""
    found = sorted(p for p in project.root.rglob(".*.tmp") if p.is_file())
    for path in found:
        path.unlink(missing_ok=True)
    if not found:
        return []
    shown = ", ".join(str(p.relative_to(project.root)) for p in found[:3])
    more = f" and {len(found) - 3} more" if len(found) > 3 else ""
    return [f"recovered: removed {len(found)} leftover temporary file(s): {shown}{more}"]


def prune(project, limit: int = MAX_ACTIONS) -> int:
    """Delete snapshots that no undo, redo or pending action needs; return how many."""
    folder = project.root / JOURNAL
    if not folder.is_dir():
        return 0
    done, undone, _, journals = history_ids(project.log, limit)
    pending = [r["id"] for r in project.log.pending()]
    journals = {**journals, **project.log.journal(pending)}
    keep = {
        key
        for row in (*done, *undone, *pending)
        for keys in journals.get(row, {}).values()
        for key in keys
        if key
    }
    removed = 0
    for path in folder.glob("*.npy"):
        if path.stem not in keep:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
