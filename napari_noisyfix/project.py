"""The project folder: config, images, original masks (read-only), corrections, checkpoints and scores.

Layout::

    PROJECT/
      project.json                 config: classes, channels, images with patient / clean flags
      images/<name>.npy            image (H, W) or (H, W, 3)
      labels_original/<name>.npy   the masks as imported, uint8 class ids (an instance project's
                                   uint16 object ids); written once, read-only
      corrections/<name>.npy       the working mask after review (absent: the original)
      reviewed/<name>.npy          bool (H, W): pixels an expert has confirmed
      truth/<name>.npy             optional true masks (sample data, benchmarks)
      synthetic/images/<name>.npy  generated training pairs (SinGAN-Seg, :mod:`.synth.store`):
      synthetic/masks/<name>.npy   listed under "synthetic" in project.json, never in "images"
      generators/<image>/vNNNN.safetensors   SinGAN-Seg generators of a real image
      models/vNNNN/                checkpoint versions
      models/.vNNNN.reserved/      a version number held by a running job (see :mod:`.reservations`)
      scores/vNNNN/                probabilities, maps and regions scored with model version N
      log.sqlite                   audit log (WAL)
      journal/<key>.npy            mask / reviewed snapshots for undo and crash recovery (review.journal)
      .lock                        the writer's lock and its holder (see :mod:`napari_noisyfix.locking`)

Synthetic pairs are training data only: :attr:`Project.names` (what is scored, queued, split
into folds, reviewed and exported) holds the real images alone; :meth:`Project.synthetic_names`
lists the generated ones, whose arrays :meth:`Project.image` and :meth:`Project.mask` read like
any other, and which cannot be corrected or marked reviewed.

Every write goes through :mod:`napari_noisyfix._atomic` (temp file + ``os.replace``).

A project is opened for writing (``mode="write"``, the default: one writer at a time, holding the
lock until :meth:`Project.close`) or for reading (``mode="read"``: no lock, nothing created, every
write method refused with one line). Opening for writing also finishes or undoes the version
commits of killed jobs (:func:`napari_noisyfix.reservations.recover`).
"""

from __future__ import annotations

import os
import re
import stat
import weakref
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ._atomic import (
    file_stamp,
    folder_stamps,
    load_npy,
    npy_dtype,
    read_json,
    save_npy,
    umask,
    write_json,
)
from ._folders import Staging, check_replaceable
from .auditlog import AuditLog
from .errors import NoisyFixError
from .instance_labels import check_ids, semantic
from .locking import LockError, ProjectLock
from .reservations import next_free, recover
from .review.journal import recover as recover_review

FORMAT = 1
CONFIG = "project.json"
MAX_CLASSES = 255
MODES = ("write", "read")
_NAME_OK = re.compile(r"^[A-Za-z0-9._\-]+$")


def _check_name(name: str) -> str:
    if not _NAME_OK.match(name) or name.startswith("."):
        raise NoisyFixError(
            f"{name!r}: image names may hold only letters, digits, '.', '_' and '-'"
            " and may not start with '.'"
        )
    return name


def validate_mask(
    mask: np.ndarray, shape: tuple[int, int], n_classes: int, where: str
) -> np.ndarray:
    """Return ``mask`` as uint8 class ids after checking shape, integrality and class range."""
    mask = np.asarray(mask)
    if mask.shape != tuple(shape):
        raise NoisyFixError(f"{where}: mask shape {mask.shape} does not match image shape {shape}")
    if mask.dtype.kind == "b":
        mask = mask.astype(np.uint8)
    if mask.dtype.kind not in "iuf":
        raise NoisyFixError(f"{where}: mask dtype {mask.dtype} is not numeric")
    if mask.dtype.kind == "f" and not np.all(np.isfinite(mask) & (mask == np.round(mask))):
        raise NoisyFixError(f"{where}: mask holds non-integer values")
    if mask.size and (mask.min() < 0 or mask.max() >= n_classes):
        raise NoisyFixError(
            f"{where}: mask values {int(mask.min())}..{int(mask.max())} outside classes 0..{n_classes - 1}"
        )
    return mask.astype(np.uint8)


def validate_ids(ids: np.ndarray, shape: tuple[int, int], where: str) -> np.ndarray:
    """Return ``ids`` as uint16 object ids after checking shape and values."""
    ids = np.asarray(ids)
    if ids.shape != tuple(shape):
        raise NoisyFixError(f"{where}: mask shape {ids.shape} does not match image shape {shape}")
    return check_ids(ids, where)


def is_project(root: str | os.PathLike) -> bool:
    """Whether ``root`` holds a noisyfix ``project.json`` (what ``--force`` may replace)."""
    try:
        config = read_json(Path(root) / CONFIG)
    except (NoisyFixError, OSError):
        return False
    return isinstance(config, dict) and config.get("format") == FORMAT and "images" in config


def _image_hw(image: np.ndarray, where: str) -> tuple[int, int]:
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3):
        return image.shape[:2]
    raise NoisyFixError(f"{where}: image shape {image.shape} is neither (H, W) nor (H, W, 3)")


class Project:
    """A project folder on disk. Create with :meth:`create`, reopen with :meth:`open`.

    Parameters
    ----------
    root : path
        The project folder.
    config : dict
        Its ``project.json``; every image name is checked to be a plain file name.
    mode : {"write", "read"}
        ``write`` takes the project's lock (held until :meth:`close`, the end of a ``with``
        block or garbage collection); ``read`` takes none and refuses every write.
    lock : ProjectLock, optional
        A lock taken already (by :meth:`create`).
    reason : str, optional
        Why a ``read`` project is read-only, for the refusals.
    """

    def __init__(
        self,
        root: Path,
        config: dict,
        *,
        mode: str = "write",
        lock: ProjectLock | None = None,
        reason: str | None = None,
    ):
        if mode not in MODES:
            raise NoisyFixError(f"{root}: mode {mode!r}: choose 'write' or 'read'")
        self.root = Path(root)
        self.config = config
        self._entries = _checked_entries(config, self.root / CONFIG)
        # sorted once: loops over a large project ask for the names (and their count) per image
        self._names = tuple(sorted(self._entries))
        self._synthetic = _checked_entries(
            {"images": config.get("synthetic", [])}, self.root / CONFIG, "synthetic"
        )
        _check_disjoint(self._entries, self._synthetic, self.root / CONFIG)
        self.mode = mode
        self.read_only_reason = None if mode == "write" else (reason or "opened with mode='read'")
        self.notes: list[str] = []
        self._log: AuditLog | None = None
        self._lock = None
        if mode == "write":
            self._take(lock or ProjectLock.acquire(self.root))

    def _take(self, lock: ProjectLock) -> None:
        """Hold ``lock`` for the object's life, open the log, recover interrupted commits."""
        self._lock = lock
        self._release = weakref.finalize(self, lock.release)
        try:
            self._log = AuditLog(self.root / "log.sqlite")
            self.notes = recover(self)
            self.notes += recover_review(self)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ lifetime
    @property
    def writable(self) -> bool:
        """Whether the project is open for writing (and not closed)."""
        return self._lock is not None and self._lock.held

    def check_writable(self, what: str) -> None:
        """Raise a one-line :class:`NoisyFixError` when ``what`` cannot be written."""
        if self.mode == "read":
            raise NoisyFixError(
                f"{self.root}: opened read-only ({self.read_only_reason}); cannot {what}"
            )
        if not self.writable:
            raise NoisyFixError(f"{self.root}: closed; open it again to {what}")

    def close(self) -> None:
        """Release the write lock (idempotent); reading goes on working."""
        if self._lock is not None:
            self._release()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def log(self) -> AuditLog:
        """The audit log (opened read-only, on first use, for a ``read`` project)."""
        if self._log is None:
            self._log = AuditLog(self.root / "log.sqlite", read_only=self.mode == "read")
        return self._log

    # ------------------------------------------------------------------ creation
    @classmethod
    def create(
        cls,
        root: str | os.PathLike,
        images: dict[str, np.ndarray],
        masks: dict[str, np.ndarray],
        *,
        patients: dict[str, str] | None = None,
        clean: set[str] | None = None,
        truth: dict[str, np.ndarray] | None = None,
        sources: dict[str, dict] | None = None,
        class_names: list[str] | None = None,
        name: str | None = None,
        extra: dict | None = None,
        force: bool = False,
        labels: str = "semantic",
    ) -> Project:
        """Build a project folder from arrays; nothing is left behind when it fails.

        Parameters
        ----------
        root : path
            Folder to create. It must not exist unless ``force`` is set (then it is replaced).
        images, masks : dict
            Arrays by image name; the same names in both.
        patients : dict, optional
            Patient id per image name; without it each image is its own patient.
        clean : set, optional
            Names whose masks are trusted.
        truth : dict, optional
            True masks (synthetic data and benchmarks only).
        sources : dict, optional
            Per image: ``{"source": path, "source_format": fmt, "slice": int | None}``.
        extra : dict, optional
            More top-level config entries (e.g. the importer's record of the input folders).
        labels : {"semantic", "instance"}
            ``instance``: ``masks`` (and ``truth``) are object ids, stored as uint16; the
            project has two classes, background and their union (:mod:`.instance_labels`).

        The new project is returned open for writing: its lock is taken in the temporary folder
        and moves with it. ``force`` refuses a project that another writer has open.
        """
        root = Path(root)
        _check_inputs(images, masks, patients, clean)
        instance = labels == "instance"
        n_classes = 2 if instance else _infer_classes(masks, class_names)
        entries = _build_entries(images, masks, n_classes, patients, clean, sources, instance)
        if root.exists() and not force:
            raise NoisyFixError(f"{root}: project path exists already (use --force to replace it)")
        check_replaceable(root, is_project, "project", CONFIG)
        old = ProjectLock.acquire(root) if (root / CONFIG).is_file() else None
        staging = Staging(root, "creating", is_project)
        tmp = staging.path
        lock = None
        try:
            _write_tree(tmp, images, masks, truth, n_classes, instance)
            lock = ProjectLock.acquire(tmp, shown=root)
            config = {
                "format": FORMAT,
                "name": name or root.name,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "n_classes": n_classes,
                "class_names": class_names or _default_class_names(n_classes),
                "in_channels": _channels(next(iter(images.values()))),
                "images": entries,
                "reviewer": None,
                **({"labels": "instance"} if instance else {}),
                **(extra or {}),
            }
            write_json(tmp / CONFIG, config)
            AuditLog(tmp / "log.sqlite").record(
                "import", details={"n_images": len(entries), "n_classes": n_classes}
            )
            staging.commit("project", CONFIG)
        except BaseException:
            if lock is not None:
                lock.release()
            _make_writable(tmp)
            staging.abort()
            raise
        finally:
            if old is not None:
                old.release()
        return cls(root, _read_config(root), lock=lock)

    @classmethod
    def open(cls, root: str | os.PathLike, mode: str = "write") -> Project:
        """Open an existing project folder.

        Parameters
        ----------
        root : path
            The project folder.
        mode : {"write", "read"}
            ``write`` (default) takes the one-writer lock and refuses, in one line naming the
            holder, when another writer has the project; ``read`` takes no lock, creates nothing
            and refuses every write.
        """
        root = Path(root)
        return cls(root, _read_config(root), mode=mode)

    @classmethod
    def open_for_review(cls, root: str | os.PathLike) -> Project:
        """Open for writing or, when another writer holds the project or its folder cannot be
        written, read-only; :attr:`read_only_reason` then says why."""
        root = Path(root)
        config = _read_config(root)
        try:
            return cls(root, config)
        except LockError as exc:
            return cls(root, config, mode="read", reason=exc.reason)

    # ------------------------------------------------------------------ metadata
    @property
    def names(self) -> list[str]:
        """Image names, sorted."""
        return list(self._names)

    @property
    def n_classes(self) -> int:
        """Number of classes including background."""
        return int(self.config["n_classes"])

    @property
    def is_instance(self) -> bool:
        """Whether the masks are object ids (an instance project, :mod:`.instance_labels`)."""
        return self.config.get("labels") == "instance"

    @property
    def in_channels(self) -> int:
        """Image channels (1 or 3)."""
        return int(self.config["in_channels"])

    def entry(self, name: str) -> dict:
        """The config entry of one image, real or synthetic."""
        entry = self._entries.get(name) or self._synthetic.get(name)
        if entry is None:
            raise NoisyFixError(f"{self.root}: no image named {name!r}")
        return entry

    def synthetic_names(self, sources=None) -> list[str]:
        """Names of the synthetic training pairs, sorted; with ``sources``, only those generated
        from these real images (a fold trains on the pairs of its own training images only)."""
        keep = None if sources is None else set(sources)
        return sorted(n for n, e in self._synthetic.items() if keep is None or e["source"] in keep)

    def is_synthetic(self, name: str) -> bool:
        """Whether ``name`` is a generated pair (training data only)."""
        return name in self._synthetic

    def _array_path(self, folder: str, name: str) -> Path:
        """Where an array of ``name`` lives: ``folder/`` for a real image, ``synthetic/images``
        or ``synthetic/masks`` for a generated pair."""
        entry = self.entry(name)
        if name in self._synthetic:
            return self.root / "synthetic" / _SYNTHETIC_FOLDER[folder] / f"{entry['name']}.npy"
        return self.root / folder / f"{_check_name(entry['name'])}.npy"

    def _real(self, name: str, what: str) -> dict:
        if self.is_synthetic(name):
            raise NoisyFixError(f"{self.root}: {name} is a synthetic pair; cannot {what}")
        return self.entry(name)

    def set_synthetic(self, entries: list[dict], pairs: dict[str, tuple], drop=()) -> None:
        """Add synthetic pairs (replacing those of the same name) and remove the names ``drop``.

        ``entries`` are config entries with ``name``, ``source`` (a real image),
        ``generator_version`` and any details; ``pairs`` maps each name to ``(image, mask)``,
        checked against the project's channels and classes. Arrays are written before the
        config, so the config never lists a pair whose files are missing.
        """
        self.check_writable("add synthetic pairs")
        for entry in entries:
            name, source = _check_name(entry["name"]), entry["source"]
            if name in self._entries:
                raise NoisyFixError(f"{self.root}: synthetic name {name!r} is a real image's")
            image, mask = (np.asarray(a) for a in pairs[name])
            hw = _image_hw(image, name)
            if _channels(image) != self.in_channels:
                raise NoisyFixError(
                    f"{name}: {_channels(image)} channels, project has {self.in_channels}"
                )
            entry.update(
                synthetic=True,
                patient=self.patient(source),
                clean=False,
                shape=list(hw),
            )
            save_npy(self._synthetic_file("images", name), image)
            save_npy(
                self._synthetic_file("masks", name),
                validate_mask(mask, hw, self.n_classes, f"{self.root}: {name}"),
            )
        new = {e["name"]: e for e in entries}
        kept = [e for n, e in self._synthetic.items() if n not in new and n not in set(drop)]
        self.config["synthetic"] = sorted(kept + entries, key=lambda e: e["name"])
        write_json(self.root / CONFIG, self.config)
        self._synthetic = {e["name"]: e for e in self.config["synthetic"]}
        for name in set(drop) - set(new):
            for sub in ("images", "masks"):
                self._synthetic_file(sub, name).unlink(missing_ok=True)

    def _synthetic_file(self, sub: str, name: str) -> Path:
        return self.root / "synthetic" / sub / f"{_check_name(name)}.npy"

    def patient(self, name: str) -> str:
        """Patient id of an image."""
        return str(self.entry(name)["patient"])

    def patients(self) -> dict[str, str]:
        """Patient id of every image."""
        return {n: self.patient(n) for n in self.names}

    def is_clean(self, name: str) -> bool:
        """Whether the image's original mask is flagged as trusted."""
        return bool(self.entry(name)["clean"])

    def clean_names(self) -> list[str]:
        """Names of images with trusted masks."""
        return [n for n in self.names if self.is_clean(n)]

    @property
    def reviewer(self) -> str | None:
        """The remembered reviewer name."""
        return self.config.get("reviewer")

    def set_reviewer(self, reviewer: str) -> None:
        """Remember the reviewer's name in the config."""
        self.check_writable("remember the reviewer")
        self.config["reviewer"] = reviewer
        write_json(self.root / CONFIG, self.config)

    # ------------------------------------------------------------------ arrays
    def image(self, name: str) -> np.ndarray:
        """The image array."""
        return load_npy(self._array_path("images", name))

    def image_dtype(self, name: str) -> np.dtype:
        """The image's dtype, as recorded at import (else from its file's header; the pixels are
        not read)."""
        recorded = self.entry(name).get("dtype")
        return np.dtype(recorded) if recorded else npy_dtype(self._array_path("images", name))

    def original_labels(self, name: str) -> np.ndarray:
        """The mask as imported and stored (never modified): class ids, or object ids."""
        return load_npy(self._array_path("labels_original", name))

    def labels(self, name: str) -> np.ndarray:
        """The working mask as stored: the latest correction, else the original (a synthetic
        pair is never corrected)."""
        if self.is_synthetic(name):
            return self.original_labels(name)
        path = self.root / "corrections" / f"{self.entry(name)['name']}.npy"
        return load_npy(path) if path.exists() else self.original_labels(name)

    def original_mask(self, name: str) -> np.ndarray:
        """The mask as imported (never modified), as class ids (an instance project's union)."""
        return self._classes(self.original_labels(name))

    def mask(self, name: str) -> np.ndarray:
        """The current working mask as class ids (an instance project's union)."""
        return self._classes(self.labels(name))

    def _classes(self, labels: np.ndarray) -> np.ndarray:
        return semantic(labels) if self.is_instance else labels

    def has_correction(self, name: str) -> bool:
        """Whether the working mask differs from the original file (a correction was saved)."""
        return (self.root / "corrections" / f"{self.entry(name)['name']}.npy").exists()

    def truth(self, name: str) -> np.ndarray | None:
        """The true mask when the project has one (synthetic data, benchmarks), as class ids."""
        truth = self.truth_labels(name)
        return None if truth is None else self._classes(truth)

    def truth_labels(self, name: str) -> np.ndarray | None:
        """The true mask as stored (an instance project's object ids); None for a synthetic pair."""
        if self.is_synthetic(name):
            return None
        path = self.root / "truth" / f"{self.entry(name)['name']}.npy"
        return load_npy(path) if path.exists() else None

    def has_truth(self) -> bool:
        """Whether every image has a true mask."""
        return all((self.root / "truth" / f"{n}.npy").exists() for n in self.names)

    def save_mask(self, name: str, mask: np.ndarray) -> Path:
        """Write the working mask atomically after validating it."""
        self.check_writable(f"save the mask of {name}")
        entry = self._real(name, "save a corrected mask")
        where = f"{self.root}: {name}"
        if self.is_instance:
            mask = validate_ids(mask, tuple(entry["shape"]), where)
        else:
            mask = validate_mask(mask, tuple(entry["shape"]), self.n_classes, where)
        return save_npy(self.root / "corrections" / f"{name}.npy", mask)

    def reviewed(self, name: str) -> np.ndarray:
        """Bool map of the pixels an expert confirmed."""
        path = self.root / "reviewed" / f"{self.entry(name)['name']}.npy"
        if path.exists():
            return load_npy(path).astype(bool)
        return np.zeros(tuple(self.entry(name)["shape"]), dtype=bool)

    def working_stamps(self, name: str) -> tuple:
        """Stamps (:func:`~napari_noisyfix._atomic.file_stamp`) of the working-mask and
        reviewed-pixel files of ``name``: what was computed from them holds while they match."""
        base = self.entry(name)["name"]
        return tuple(file_stamp(self.root / d / f"{base}.npy") for d in ("corrections", "reviewed"))

    def all_working_stamps(self) -> dict[str, tuple]:
        """:meth:`working_stamps` of every image, from one listing of each folder (an image
        without a correction or a reviewed pixel costs nothing)."""
        found = {}
        for folder in ("corrections", "reviewed"):
            found[folder] = folder_stamps(self.root / folder, ".npy")
        return {
            n: tuple(found[d].get(self.entry(n)["name"]) for d in ("corrections", "reviewed"))
            for n in self.names
        }

    def mark_reviewed(self, name: str, region: np.ndarray) -> None:
        """Add ``region`` (bool, image-shaped) to the reviewed pixels of ``name``."""
        region = np.asarray(region, dtype=bool)
        self.set_reviewed(name, self.reviewed(name) | _same_shape(region, self.entry(name), name))

    def set_reviewed(self, name: str, reviewed: np.ndarray) -> None:
        """Replace the reviewed-pixel map of ``name`` exactly (undo restores an earlier map)."""
        self.check_writable(f"save the reviewed pixels of {name}")
        entry = self._real(name, "mark reviewed pixels")
        reviewed = _same_shape(np.asarray(reviewed, dtype=bool), entry, name)
        save_npy(self.root / "reviewed" / f"{name}.npy", reviewed)

    # ------------------------------------------------------------------ versions
    def model_versions(self) -> list[int]:
        """Model versions that have a finished checkpoint folder."""
        base = self.root / "models"
        if not base.is_dir():
            return []
        return sorted(int(p.name[1:]) for p in base.glob("v[0-9][0-9][0-9][0-9]") if p.is_dir())

    def latest_model_version(self) -> int | None:
        """The newest model version, or None before any training."""
        versions = self.model_versions()
        return versions[-1] if versions else None

    def model_dir(self, version: int) -> Path:
        """Folder of a model version (not created)."""
        return self.root / "models" / f"v{int(version):04d}"

    def new_model_dir(self) -> tuple[int, Path]:
        """Make the folder of the next model version at once: returns its number and the new,
        empty folder (jobs reserve numbers with :func:`napari_noisyfix.reservations.reserve`)."""
        self.check_writable("add a model version")
        version = next_free(self)
        path = self.model_dir(version)
        path.mkdir(parents=True, exist_ok=False)
        return version, path

    def scores_dir(self, version: int) -> Path:
        """Folder of everything scored with a model version (not created: every write
        creates the folders it needs, so reading creates nothing)."""
        return self.root / "scores" / f"v{int(version):04d}"

    def save_probs(self, version: int, name: str, probs: np.ndarray) -> Path:
        """Store class probabilities (C, H, W) as float16 for an image and a model version."""
        self.check_writable(f"store probabilities of {name}")
        probs = np.asarray(probs)
        shape = tuple(self.entry(name)["shape"])
        if probs.ndim != 3 or probs.shape[0] != self.n_classes or probs.shape[1:] != shape:
            raise NoisyFixError(
                f"{name}: probabilities of shape {probs.shape}, expected {(self.n_classes, *shape)}"
            )
        return save_npy(
            self.scores_dir(version) / "probs" / f"{name}.npy", probs.astype(np.float16)
        )

    def load_probs(self, name: str, version: int | None = None) -> np.ndarray | None:
        """Stored probabilities (float32) for an image, newest version by default; None if absent."""
        versions = [version] if version is not None else reversed(self.model_versions())
        for v in versions:
            path = self.root / "scores" / f"v{int(v):04d}" / "probs" / f"{name}.npy"
            if path.exists():
                return load_npy(path).astype(np.float32)
        return None


# ---------------------------------------------------------------------- helpers
def _read_config(root: Path) -> dict:
    if not (root / CONFIG).is_file():
        raise NoisyFixError(f"{root}: not a noisyfix project (no {CONFIG})")
    config = read_json(root / CONFIG)
    if (
        not isinstance(config, dict)
        or config.get("format") != FORMAT
        or not isinstance(config.get("images"), list)
    ):
        raise NoisyFixError(f"{root / CONFIG}: unknown project format")
    return config


_SYNTHETIC_FOLDER = {"images": "images", "labels_original": "masks"}


def _checked_entries(config: dict, where: Path, key: str = "images") -> dict[str, dict]:
    """Image entries by name, each name a plain file name (nothing can point outside)."""
    entries: dict[str, dict] = {}
    if not isinstance(config["images"], list):
        raise NoisyFixError(f"{where}: {key} is not a list")
    for i, entry in enumerate(config["images"]):
        name = entry.get("name") if isinstance(entry, dict) else None
        if not isinstance(name, str) or name in entries:
            raise NoisyFixError(f"{where}: {key}[{i}]: name {name!r} missing or repeated")
        try:
            _check_name(name)
        except NoisyFixError as exc:
            raise NoisyFixError(f"{where}: {key}[{i}]: {exc}") from None
        shape = entry.get("shape")
        if not (isinstance(shape, list) and len(shape) == 2 and all(_positive(v) for v in shape)):
            raise NoisyFixError(f"{where}: {key}[{i}] ({name}): shape {shape!r} is not [H, W]")
        entries[name] = entry
    return entries


def _check_disjoint(real: dict, synthetic: dict, where: Path) -> None:
    """Synthetic names are not real names, and every synthetic pair names a real source."""
    for name, entry in synthetic.items():
        if name in real:
            raise NoisyFixError(f"{where}: synthetic pair {name!r} has a real image's name")
        if entry.get("source") not in real:
            raise NoisyFixError(
                f"{where}: synthetic pair {name!r}: source {entry.get('source')!r} is no real image"
            )


def _positive(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _same_shape(region: np.ndarray, entry: dict, name: str) -> np.ndarray:
    if region.shape != tuple(entry["shape"]):
        raise NoisyFixError(
            f"{name}: reviewed region shape {region.shape} != {tuple(entry['shape'])}"
        )
    return region


def _check_inputs(images, masks, patients, clean) -> None:
    if not images:
        raise NoisyFixError("no images to import")
    missing_img = sorted(set(masks) - set(images))
    missing_mask = sorted(set(images) - set(masks))
    if missing_img:
        raise NoisyFixError(f"{missing_img[0]}: mask without an image")
    if missing_mask:
        raise NoisyFixError(f"{missing_mask[0]}: image without a mask")
    for name in images:
        _check_name(name)
        _image_hw(np.asarray(images[name]), name)
    unknown = sorted(set(patients or {}) - set(images)) + sorted(set(clean or ()) - set(images))
    if unknown:
        raise NoisyFixError(
            f"{unknown[0]}: named in the patient table or clean list but not imported"
        )
    channels = {_channels(img) for img in images.values()}
    if len(channels) > 1:
        raise NoisyFixError("images mix gray and RGB; import them as separate projects")


def _channels(image: np.ndarray) -> int:
    return 1 if image.ndim == 2 else int(image.shape[2])


def _infer_classes(masks: dict, class_names: list[str] | None) -> int:
    top = 0
    for name, m in masks.items():
        m = np.asarray(m)
        if m.dtype.kind == "f" and not np.all(np.isfinite(m) & (m == np.round(m))):
            raise NoisyFixError(f"{name}: mask holds non-integer values")
        if m.size and m.min() < 0:
            raise NoisyFixError(f"{name}: mask holds negative values")
        top = max(top, int(m.max()) if m.size else 0)
    if top == 255 and all(set(np.unique(m)).issubset({0, 255}) for m in masks.values()):
        for key in masks:
            masks[key] = (np.asarray(masks[key]) > 0).astype(np.uint8)
        top = 1
    if top >= MAX_CLASSES:
        raise NoisyFixError(f"masks hold class {top}: more than {MAX_CLASSES - 1} classes")
    n = max(2, top + 1)
    if class_names is not None and len(class_names) != n:
        raise NoisyFixError(f"{len(class_names)} class names given for {n} classes")
    return n


def _default_class_names(n: int) -> list[str]:
    return (
        ["background", "foreground"]
        if n == 2
        else ["background"] + [f"class {i}" for i in range(1, n)]
    )


def _build_entries(images, masks, n_classes, patients, clean, sources, instance) -> list[dict]:
    entries = []
    for name in sorted(images):
        hw = _image_hw(np.asarray(images[name]), name)
        masks[name] = (
            validate_ids(masks[name], hw, name)
            if instance
            else validate_mask(masks[name], hw, n_classes, name)
        )
        src = (sources or {}).get(name, {})
        entries.append(
            {
                "name": name,
                "patient": str((patients or {}).get(name, name)),
                "clean": name in (clean or ()),
                "shape": list(hw),
                "dtype": np.asarray(images[name]).dtype.str,
                "source": src.get("source"),
                "source_format": src.get("source_format", "npy"),
                "slice": src.get("slice"),
            }
        )
    return entries


def _write_tree(tmp: Path, images, masks, truth, n_classes, instance=False) -> None:
    for sub in ("images", "labels_original", "corrections", "reviewed", "models", "scores"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    for name, img in images.items():
        save_npy(tmp / "images" / f"{name}.npy", np.asarray(img))
        path = save_npy(tmp / "labels_original" / f"{name}.npy", masks[name])
        path.chmod((stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH) & ~umask())
    for name, m in (truth or {}).items():
        hw = np.asarray(images[name]).shape[:2]
        where = f"truth {name}"
        valid = validate_ids(m, hw, where) if instance else validate_mask(m, hw, n_classes, where)
        save_npy(tmp / "truth" / f"{name}.npy", valid)


def _make_writable(root: Path) -> None:
    if root.exists():
        for p in root.rglob("*"):
            if p.is_file():
                p.chmod(p.stat().st_mode | stat.S_IWUSR)
