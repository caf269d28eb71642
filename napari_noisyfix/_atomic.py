"""Atomic file writes: a crash leaves either the old file or the new one, never half of one."""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import NoisyFixError


def atomic_write_bytes(path: str | os.PathLike, data: bytes, durable: bool = True) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    ``durable`` also forces the data to disk before the rename (``fsync``), so that even a power
    cut leaves the old file or the new one; caches that can be recomputed skip it (it costs
    milliseconds per file).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: str | os.PathLike, obj) -> Path:
    """Write ``obj`` as indented JSON atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


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
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return atomic_write_bytes(path, buf.getvalue())


def load_npy(path: str | os.PathLike) -> np.ndarray:
    """Load an ``.npy`` array without unpickling; a corrupt file raises :class:`NoisyFixError`."""
    path = Path(path)
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError as exc:
        raise NoisyFixError(f"{path}: file not found") from exc
    except (ValueError, OSError, EOFError) as exc:
        raise NoisyFixError(f"{path}: unreadable array file ({exc})") from exc
