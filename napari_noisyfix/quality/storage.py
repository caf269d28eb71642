"""On-disk form of maps and regions: compressed ``.npz`` written atomically, never pickled."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from .._atomic import atomic_write_bytes
from ..errors import NoisyFixError
from .region import Region


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Save ``arrays`` as a compressed ``.npz`` through a temporary file."""
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return atomic_write_bytes(path, buf.getvalue())


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` (no pickles); a bad file raises :class:`NoisyFixError`."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError as exc:
        raise NoisyFixError(f"{path}: file not found") from exc
    except (ValueError, OSError, EOFError) as exc:
        raise NoisyFixError(f"{path}: unreadable archive ({exc})") from exc


def write_maps(path: Path, maps: dict[str, np.ndarray]) -> Path:
    """Store maps as float16."""
    return write_npz(path, {k: np.asarray(v, dtype=np.float16) for k, v in maps.items()})


def read_maps(path: Path) -> dict[str, np.ndarray]:
    """Maps back as float32."""
    return {k: v.astype(np.float32) for k, v in read_npz(path).items()}


def regions_arrays(regions: list[Region], prefix: str = "") -> dict[str, np.ndarray]:
    """Arrays that hold ``regions``: a JSON table plus one region and proposal array each."""
    arrays = {f"{prefix}meta": np.array(json.dumps([r.to_row() for r in regions]))}
    for k, r in enumerate(regions):
        arrays[f"{prefix}region_{k}"] = r.region
        arrays[f"{prefix}proposal_{k}"] = r.proposal
    return arrays


def regions_from_arrays(
    arrays: dict[str, np.ndarray], where: str, prefix: str = ""
) -> list[Region]:
    """Inverse of :func:`regions_arrays`."""
    try:
        rows = json.loads(str(arrays[f"{prefix}meta"]))
        return [
            _row_region(row, arrays[f"{prefix}region_{k}"], arrays[f"{prefix}proposal_{k}"])
            for k, row in enumerate(rows)
        ]
    except (KeyError, json.JSONDecodeError, TypeError) as exc:
        raise NoisyFixError(f"{where}: damaged region archive ({exc})") from exc


def _row_region(row: dict, region: np.ndarray, proposal: np.ndarray) -> Region:
    return Region(
        id=row["id"],
        image=row["image"],
        kind=row["kind"],
        cls=int(row["cls"]),
        score=float(row["score"]),
        prob_correct=float(row["prob_correct"]),
        gain=float(row["gain"]),
        area=int(row["area"]),
        bbox=(row["r0"], row["c0"], row["r1"], row["c1"]),
        region=region.astype(bool),
        proposal=proposal.astype(np.uint8),
        reason=row.get("reason", ""),
        scope=row.get("scope", "object"),
    )
