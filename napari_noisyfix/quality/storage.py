"""On-disk form of maps and regions: ``.npz`` archives written atomically, never pickled.

They are caches, recomputed from the stored probabilities whenever they are missing or unreadable,
so they are written uncompressed and without ``fsync``, which cost milliseconds per file (the
scoring-time change is in BENCHMARKS.md, "This session's changes").
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from .._atomic import atomic_write, file_stamp, npy_header
from ..errors import NoisyFixError
from .region import KINDS, SCOPES, Region


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Save ``arrays`` as an ``.npz`` through a temporary file (a cache: no ``fsync``), written
    as it is made."""
    return atomic_write(path, lambda fh: np.savez(fh, **arrays), durable=False)


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
    """Arrays that hold ``regions``: a JSON table, and every region's pixels and proposal
    flattened one after the other (their shapes are their bounding boxes)."""
    return {
        f"{prefix}meta": np.array(json.dumps([r.to_row() for r in regions])),
        f"{prefix}regions": _flat([r.region for r in regions], bool),
        f"{prefix}proposals": _flat([r.proposal for r in regions], np.uint8),
        f"{prefix}features": _features(regions),
    }


def _features(regions: list[Region]) -> np.ndarray:
    """(n, F) evidence rows of ``regions``; (n, 0) when some region has none (outliers)."""
    if not regions or any(r.features is None for r in regions):
        return np.zeros((len(regions), 0), np.float32)
    return np.stack([np.asarray(r.features, np.float32) for r in regions])


def _flat(arrays: list[np.ndarray], dtype) -> np.ndarray:
    return (
        np.concatenate([a.ravel() for a in arrays]).astype(dtype) if arrays else np.zeros(0, dtype)
    )


def regions_from_arrays(
    arrays: dict[str, np.ndarray], where: str, prefix: str = ""
) -> list[Region]:
    """Inverse of :func:`regions_arrays`."""
    try:
        rows = json.loads(str(arrays[f"{prefix}meta"]))
        flat_regions, flat_proposals = arrays[f"{prefix}regions"], arrays[f"{prefix}proposals"]
        sizes = [(row["r1"] - row["r0"]) * (row["c1"] - row["c0"]) for row in rows]
        if sum(sizes) != flat_regions.size or flat_regions.size != flat_proposals.size:
            raise ValueError("pixel arrays do not match the bounding boxes")
        starts = np.cumsum([0, *sizes])
        features = arrays.get(f"{prefix}features", np.zeros((len(rows), 0), np.float32))
        if len(features) != len(rows):
            raise ValueError("feature rows do not match the regions")
        out = []
        for i, (row, a, b) in enumerate(zip(rows, starts[:-1], starts[1:], strict=True)):
            shape = (row["r1"] - row["r0"], row["c1"] - row["c0"])
            region = flat_regions[a:b].reshape(shape)
            out.append(_row_region(row, region, flat_proposals[a:b].reshape(shape)))
            out[-1].features = features[i] if features.shape[1] else None
        return out
    except (KeyError, json.JSONDecodeError, TypeError, ValueError, NoisyFixError) as exc:
        raise NoisyFixError(f"{where}: damaged region archive ({exc})") from exc


def _row_region(row: dict, region: np.ndarray, proposal: np.ndarray) -> Region:
    return Region(
        **_row_fields(row), region=region.astype(bool), proposal=proposal.astype(np.uint8)
    )


def _row_fields(row: dict) -> dict:
    """A region's fields (all but its pixels and evidence) from its table row."""
    return {
        "id": row["id"],
        "image": row["image"],
        "kind": row["kind"],
        "cls": int(row["cls"]),
        "score": float(row["score"]),
        "prob_correct": float(row["prob_correct"]),
        "gain": float(row["gain"]),
        "area": int(row["area"]),
        "bbox": (int(row["r0"]), int(row["c0"]), int(row["r1"]), int(row["c1"])),
        "reason": row.get("reason", ""),
        "scope": row.get("scope", "object"),
        "dice_gain": float(row.get("dice_gain", 0.0)),
        "detail": row.get("detail", ""),
    }


# ---------------------------------------------------------------------- lazy pixels
#: Region archives whose pixel arrays are kept in memory for :class:`StoredRegion` (the most
#: recently used ones).
PIXEL_CACHE = 64


class StoredRegion(Region):
    """A region read from an archive whose pixels (``region``, ``proposal``) stay on disk until
    used, then come from a small cache of archives: a project's every region can be queued and
    sorted without holding every region's pixels. Assigning them keeps them on the region."""

    def __getattr__(self, name: str):
        source = self.__dict__.get("_source")
        if name not in ("region", "proposal") or source is None:
            raise AttributeError(name)
        return source.pixels(name)

    @classmethod
    def from_row(cls, row: dict, features, source: _Source) -> StoredRegion:
        """The region of a table row whose pixels lie at ``source``. Its fields are checked by
        :func:`rows_as_stored` for a whole table at once (a project holds tens of thousands)."""
        reg = object.__new__(cls)
        reg.__dict__.update(_row_fields(row), features=features, _source=source)
        return reg


class _Source:
    """Where a stored region's pixels lie: the archive (as it was when read: ``stamp``) and
    the span."""

    __slots__ = ("path", "prefix", "start", "stop", "shape", "stamp")

    def __init__(self, path: Path, prefix: str, start: int, stop: int, shape, stamp):
        self.path, self.prefix, self.start, self.stop, self.shape = path, prefix, start, stop, shape
        self.stamp = stamp

    def pixels(self, name: str) -> np.ndarray:
        if file_stamp(self.path) != self.stamp:
            raise NoisyFixError(
                f"{self.path}: rescored since its regions were read; open the review again"
            )
        flat = _archive_pixels(str(self.path), self.prefix, self.stamp)[name]
        out = flat[self.start : self.stop].reshape(self.shape)
        return out.astype(bool) if name == "region" else out.astype(np.uint8)


def _stamp(path: Path) -> tuple[int, int]:
    stamp = file_stamp(path)
    if stamp is None:
        raise NoisyFixError(f"{path}: file not found")
    return stamp


@lru_cache(maxsize=PIXEL_CACHE)
def _archive_pixels(path: str, prefix: str, stamp: tuple[int, int]) -> dict[str, np.ndarray]:
    arrays = read_npz(Path(path))
    return {"region": arrays[f"{prefix}regions"], "proposal": arrays[f"{prefix}proposals"]}


def stored_regions(path: Path, prefix: str = "") -> list[Region]:
    """The regions of the archive at ``path`` as :class:`StoredRegion`, which read their pixels
    back only when used: only the region table, the evidence and the pixel arrays' sizes are
    read here (checked against the boxes as :func:`regions_from_arrays` does)."""
    path = Path(path)
    stamp = _stamp(path)
    arrays = _table_arrays(path, prefix)
    try:
        rows = json.loads(str(arrays[f"{prefix}meta"]))
    except (KeyError, json.JSONDecodeError) as exc:
        raise NoisyFixError(f"{path}: damaged region archive ({exc})") from exc
    sizes = (arrays[f"{prefix}regions"].size, arrays[f"{prefix}proposals"].size)
    features = arrays.get(f"{prefix}features", np.zeros((len(rows), 0), np.float32))
    return rows_as_stored(path, rows, features, stamp, prefix, sizes)


def rows_as_stored(
    path: Path, rows: list[dict], features: np.ndarray, stamp, prefix: str = "", sizes=None
) -> list[Region]:
    """:class:`StoredRegion` of the table ``rows`` of the archive at ``path`` (as it was at
    ``stamp``), with their evidence rows ``features`` ((n, 0): none); ``sizes`` (of its region
    and proposal pixel arrays), when given, are checked against the boxes."""
    try:
        shapes = [(int(row["r1"] - row["r0"]), int(row["c1"] - row["c0"])) for row in rows]
        heights, widths = zip(*shapes, strict=True) if shapes else ((), ())
        check_table(
            [r["kind"] for r in rows], [r.get("scope", "object") for r in rows], heights, widths
        )
        total = sum(h * w for h, w in shapes)
        if sizes is not None and not total == sizes[0] == sizes[1]:
            raise ValueError("pixel arrays do not match the bounding boxes")
        if len(features) != len(rows):
            raise ValueError("feature rows do not match the regions")
        return stored_rows(path, prefix, stamp, shapes, features, rows, range(len(rows)))
    except (KeyError, TypeError, ValueError, NoisyFixError) as exc:
        raise NoisyFixError(f"{path}: damaged region archive ({exc})") from exc


def stored_rows(path: Path, prefix: str, stamp, shapes, features, rows, which) -> list:
    """:class:`StoredRegion` of the rows ``which`` of a region table whose boxes are ``shapes``
    (their pixels lie one after another in the archive at ``path``, as it was at ``stamp``);
    ``rows`` are those rows' dicts, ``features`` the table's evidence ((n, 0): none)."""
    stops = np.cumsum([h * w for h, w in shapes], dtype=np.int64)
    out = []
    for k, row in zip(which, rows, strict=True):
        (h, w), stop = shapes[k], int(stops[k])
        source = _Source(path, prefix, stop - h * w, stop, (h, w), stamp)
        # a copy: a view would keep the whole table's evidence alive with the region
        evidence = features[k].copy() if features.shape[1] else None
        out.append(StoredRegion.from_row(row, evidence, source))
    return out


def check_table(kinds, scopes, heights, widths) -> None:
    """What :class:`Region` checks of each region, for a whole table at once: its kinds, its
    scopes and its boxes' heights and widths (a ValueError names what is wrong)."""
    unknown = (set(kinds) - set(KINDS)) | (set(scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown region kinds or scopes {sorted(unknown)}")
    if np.any(np.asarray(heights) < 0) or np.any(np.asarray(widths) < 0):
        raise ValueError("a region's box has a negative size")


def _table_arrays(path: Path, prefix: str) -> dict[str, np.ndarray]:
    """The region table and evidence of an archive, with zero-memory stand-ins of the sizes of
    its pixel arrays (their data is not read)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in (f"{prefix}meta", f"{prefix}features") if k in data}
            for key in (f"{prefix}regions", f"{prefix}proposals"):
                size = _stored_size(data, key)
                arrays[key] = np.broadcast_to(np.zeros((), np.uint8), (size,))
            return arrays
    except FileNotFoundError as exc:
        raise NoisyFixError(f"{path}: file not found") from exc
    except (KeyError, ValueError, OSError, EOFError) as exc:
        raise NoisyFixError(f"{path}: unreadable archive ({exc})") from exc


def _stored_size(data, key: str) -> int:
    """Elements of the array ``key`` of an open ``.npz``, from its header alone."""
    with data.zip.open(f"{key}.npy") as fh:
        header = npy_header(fh)
    shape = header[0] if header is not None else data[key].shape
    return int(np.prod(shape, dtype=np.int64))
