"""The review index of a scored version: every image's region rows and evidence, and a summary
of its working labels, written once by scoring and read in one go.

``scores/vNNNN/review_index.npz`` holds every image's region table by column (numbers as
arrays; the text columns as one compressed JSON list per image, parsed only for an image whose
regions are asked for), per image its region archive's stamp, the stamps of its working-mask and
reviewed-pixel files and whether any pixel was reviewed, the regions' evidence rows and each
image's expected-Dice terms (:func:`~napari_noisyfix.quality.estimate.dice_terms`). A queue or a review session of 10,000
images then opens from one file instead of one archive, one probability map and one mask per
image.

It is a cache, trusted image by image only where it still holds: an image whose region archive
no longer has the recorded stamp (rescored, copied without its times) is read from its archive,
and a summary whose working files changed since is computed again by whoever needs it.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._atomic import file_stamp
from ..errors import NoisyFixError
from .region import ROW_FIELDS
from .storage import check_table, read_npz, stored_rows, write_npz

INDEX = "review_index.npz"
FORMAT = 2


@dataclass
class ImageSummary:
    """What the review progress needs of one image's working labels, and the stamps of the
    working files it was computed from (:meth:`~napari_noisyfix.project.Project.working_stamps`)."""

    stamps: tuple
    any_reviewed: bool
    terms: np.ndarray


@dataclass
class RegionTable:
    """One image's region table as scoring holds it and the index stores it: the numbers by
    column, the text columns as one zlib-compressed JSON list of lists (``TEXT_FIELDS``
    order) and the evidence rows ((n, 0) without). Row dicts cost about 1.2 kB a region,
    this about 250 bytes, and it is written into the index as it is."""

    ints: np.ndarray
    floats: np.ndarray
    text: bytes
    features: np.ndarray

    @classmethod
    def of(cls, rows: list[dict], features: np.ndarray) -> RegionTable:
        """The table of ``rows`` (:meth:`~.region.Region.to_row`) with their evidence."""
        ints = np.array([[row[f] for f in INT_FIELDS] for row in rows], np.int64)
        floats = np.array([[row[f] for f in FLOAT_FIELDS] for row in rows], np.float64)
        text = json.dumps([[row[f] for row in rows] for f in TEXT_FIELDS]).encode("utf-8")
        text = zlib.compress(text, 1)  # the reasons repeat their phrases: about 5x smaller
        features = np.asarray(features, np.float32)
        ints, floats = ints.reshape(-1, len(INT_FIELDS)), floats.reshape(-1, len(FLOAT_FIELDS))
        return cls(ints, floats, text, features)

    def __len__(self) -> int:
        return len(self.ints)

    def columns(self) -> list[list]:
        """The text columns, checked against the numbers (a ValueError says what is wrong)."""
        text = json.loads(zlib.decompress(self.text).decode("utf-8"))
        if len(text) != len(TEXT_FIELDS) or any(len(c) != len(self) for c in text):
            raise ValueError("text columns do not match the regions")
        at = {f: text[i] for i, f in enumerate(TEXT_FIELDS)}
        box = self.ints[:, 2:]
        check_table(at["kind"], at["scope"], box[:, 2] - box[:, 0], box[:, 3] - box[:, 1])
        return text

    def rows(self, image: str, which=None) -> list[dict]:
        """Rows ``which`` (indices; all by default) as region-table dicts of ``image``."""
        text = self.columns()
        which = range(len(self)) if which is None else which
        ints, floats = self.ints.tolist(), self.floats.tolist()
        out = []
        for j in which:
            row = {f: text[i][j] for i, f in enumerate(TEXT_FIELDS)}
            row.update(zip(INT_FIELDS, ints[j], strict=True), image=image)
            row.update(zip(FLOAT_FIELDS, floats[j], strict=True))
            out.append(row)
        return out


@dataclass
class ReviewIndex:
    """An index as read: image ``names[i]``'s regions are rows ``starts[i]:starts[i + 1]`` of
    the number columns, its text is bytes ``text_ends[i - 1]:text_ends[i]`` of ``text``.
    Region objects are made only for the rows asked for (:meth:`regions`), so a queue of
    10,000 images does not make one per stored region."""

    path: Path | None = None
    names: list[str] = field(default_factory=list)
    starts: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    ints: np.ndarray = field(default_factory=lambda: np.zeros((0, 6), np.int64))
    floats: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    text: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    text_ends: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: per image the first of its evidence rows in ``features``, or -1 when it has none
    evidence: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    features: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    archives: dict[str, tuple] = field(default_factory=dict)
    summaries: dict[str, ImageSummary] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._at = {name: i for i, name in enumerate(self.names)}

    def summary(self, name: str, stamps: tuple) -> ImageSummary | None:
        """The stored summary of ``name`` if its working files still have ``stamps``."""
        found = self.summaries.get(name)
        return found if found is not None and found.stamps == tuple(stamps) else None

    def table(self, name: str) -> RegionTable | None:
        """The region table of ``name`` as stored (None when not indexed)."""
        i = self._at.get(name)
        if i is None:
            return None
        lo, hi = self.starts[i : i + 2]
        t0, t1 = (self.text_ends[i - 1] if i else 0), self.text_ends[i]
        first = self.evidence[i]
        if first >= 0:
            features = self.features[first : first + hi - lo]
        else:
            features = np.zeros((hi - lo, 0), np.float32)
        text = self.text[t0:t1].tobytes()
        return RegionTable(self.ints[lo:hi], self.floats[lo:hi], text, features)

    def regions(self, sdir: Path, name: str, now: tuple | None, min_prob: float = 0.0):
        """The stored regions of ``name`` whose ``prob_correct`` is at least ``min_prob``, or
        None when the index does not hold its archive as it is ``now`` (its stamp; the caller
        then reads the archive). Only the regions kept are made (and an image's text is read
        only when one is); a damaged table raises :class:`NoisyFixError` naming the index."""
        stamp, table = self.archives.get(name), self.table(name)
        if stamp is None or now != stamp or table is None:
            return None
        keep = np.flatnonzero(table.floats[:, 1] >= min_prob) if min_prob else range(len(table))
        if not len(keep):
            return []
        try:
            rows = table.rows(name, keep)
        except (TypeError, ValueError, UnicodeDecodeError, zlib.error) as exc:
            raise NoisyFixError(f"{self.path}: damaged review index ({name}: {exc})") from exc
        box = table.ints[:, 2:]
        heights, widths = (box[:, 2] - box[:, 0]).tolist(), (box[:, 3] - box[:, 1]).tolist()
        shapes = list(zip(heights, widths, strict=True))
        path = Path(sdir) / "regions" / f"{name}.npz"
        return stored_rows(path, "", stamp, shapes, table.features, rows, keep)


def summarise(stamps: tuple, reviewed: np.ndarray, terms: np.ndarray) -> ImageSummary:
    """The summary of one image (``stamps`` taken before its files were read)."""
    return ImageSummary(tuple(stamps), bool(np.any(reviewed)), np.asarray(terms, np.float32))


#: Region-table columns stored as numbers (the rest, text, in the JSON table).
INT_FIELDS = ("cls", "area", "r0", "c0", "r1", "c1")
FLOAT_FIELDS = ("score", "prob_correct", "gain", "dice_gain")
TEXT_FIELDS = tuple(f for f in ROW_FIELDS if f not in (*INT_FIELDS, *FLOAT_FIELDS, "image"))


def write_index(sdir: Path, names: list[str], tables: dict, summaries: dict) -> Path:
    """Write the index of ``names``: their :class:`RegionTable` (as in their archives under
    ``sdir/regions``, which must be final) and their :class:`ImageSummary`. The tables are
    joined as they are (numbers as arrays, each image's text as its compressed JSON), which
    reads back many times faster than a row per region."""
    parts = [tables[n] for n in names]
    with_evidence = [t.features for t in parts if t.features.shape[1]]
    meta = {
        "format": FORMAT,
        "images": list(names),
        "counts": [len(t) for t in parts],
        "archives": [file_stamp(sdir / "regions" / f"{n}.npz") for n in names],
        "evidence": [bool(t.features.shape[1]) for t in parts],
        "stamps": [summaries[n].stamps for n in names],
        "any_reviewed": [summaries[n].any_reviewed for n in names],
    }
    width = max((f.shape[1] for f in with_evidence), default=0)
    arrays = {
        "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8),
        "ints": _joined([t.ints for t in parts], (0, len(INT_FIELDS)), np.int64),
        "floats": _joined([t.floats for t in parts], (0, len(FLOAT_FIELDS)), np.float64),
        "text": np.frombuffer(b"".join(t.text for t in parts), np.uint8),
        "text_ends": np.cumsum([len(t.text) for t in parts], dtype=np.int64),
        "features": _joined(with_evidence, (0, width), np.float32),
        "terms": np.stack([summaries[n].terms for n in names]) if names else np.zeros((0, 0, 3)),
    }
    return write_npz(sdir / INDEX, arrays)


def _joined(arrays: list, empty: tuple, dtype) -> np.ndarray:
    return np.concatenate(arrays).astype(dtype, copy=False) if arrays else np.zeros(empty, dtype)


def read_index(sdir: Path) -> ReviewIndex:
    """The index under ``sdir`` (empty when absent or of another format: every image is then
    read from its own files); a damaged one raises :class:`NoisyFixError`."""
    path = Path(sdir) / INDEX
    if not path.is_file():
        return ReviewIndex()
    arrays = read_npz(path)
    try:
        meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
        if meta.get("format") != FORMAT:
            return ReviewIndex()
        return _parse(path, meta, arrays)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise NoisyFixError(f"{path}: damaged review index ({exc})") from exc


def _parse(path: Path, meta: dict, arrays: dict) -> ReviewIndex:
    names, counts = meta["images"], np.asarray(meta["counts"], np.int64)
    ints, floats = arrays["ints"].astype(np.int64), arrays["floats"].astype(np.float64)
    features, terms, ends = arrays["features"], arrays["terms"], arrays["text_ends"]
    total = int(counts.sum())
    if not len(ints) == len(floats) == total or not len(terms) == len(counts) == len(names):
        raise ValueError("columns do not match the images")
    for key in ("archives", "evidence", "stamps", "any_reviewed"):
        if len(meta[key]) != len(names):
            raise ValueError(f"{key} do not match the images")
    if (
        len(ends) != len(names)
        or np.any(np.diff(ends) < 0)
        or (len(ends) and ends[-1] != len(arrays["text"]))
    ):
        raise ValueError("text does not match the images")
    with_evidence = np.asarray(meta["evidence"], bool)
    if len(features) != int(counts[with_evidence].sum()):
        raise ValueError("evidence rows do not match the regions")
    evidence = np.where(with_evidence, np.cumsum(np.where(with_evidence, counts, 0)) - counts, -1)
    summaries = {
        name: ImageSummary(
            tuple(_tuple(s) for s in meta["stamps"][i]), bool(meta["any_reviewed"][i]), terms[i]
        )
        for i, name in enumerate(names)
    }
    return ReviewIndex(
        path=path,
        names=list(names),
        starts=np.concatenate([[0], np.cumsum(counts)]),
        ints=ints,
        floats=floats,
        text=arrays["text"],
        text_ends=ends.astype(np.int64),
        evidence=evidence,
        features=features,
        archives={name: _tuple(meta["archives"][i]) for i, name in enumerate(names)},
        summaries=summaries,
    )


def _tuple(stamp):
    return None if stamp is None else tuple(int(v) for v in stamp)
