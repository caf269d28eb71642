"""The review index of a scored version: every image's region rows and evidence, and a summary
of its working labels, written once by scoring and read in one go.

``scores/vNNNN/review_index.npz`` holds every image's region table by column (numbers as
arrays, text as JSON), per image its region archive's stamp, the stamps of its working-mask and
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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._atomic import file_stamp
from ..errors import NoisyFixError
from .region import ROW_FIELDS
from .storage import PixelSource, StoredRegion, check_table, read_npz, write_npz

INDEX = "review_index.npz"
FORMAT = 1


@dataclass
class ImageSummary:
    """What the review progress needs of one image's working labels, and the stamps of the
    working files it was computed from (:meth:`~napari_noisyfix.project.Project.working_stamps`)."""

    stamps: tuple
    any_reviewed: bool
    terms: np.ndarray


@dataclass
class ReviewIndex:
    """An index as read, kept by column: region ``j`` of image ``names[i]`` is row
    ``starts[i] + k``. Region objects are made only for the rows asked for
    (:meth:`regions`), so a queue of 10,000 images does not make one per stored region."""

    names: list[str] = field(default_factory=list)
    starts: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    ints: np.ndarray = field(default_factory=lambda: np.zeros((0, 6), np.int64))
    floats: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    text: dict[str, list] = field(default_factory=dict)
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

    def rows(self, name: str) -> list[dict]:
        """The region table of ``name`` as stored in its archive (empty when not indexed)."""
        i = self._at.get(name)
        return [] if i is None else [self._row(name, j) for j in range(*self.starts[i : i + 2])]

    def regions(self, sdir: Path, name: str, now: tuple | None, min_prob: float = 0.0):
        """The stored regions of ``name`` whose ``prob_correct`` is at least ``min_prob``, or
        None when the index does not hold its archive as it is ``now`` (its stamp; the caller
        then reads the archive). Only the regions kept are made."""
        stamp, i = self.archives.get(name), self._at.get(name)
        if stamp is None or now != stamp or i is None:
            return None
        lo, hi = self.starts[i : i + 2]
        box = self.ints[lo:hi, 2:]
        shapes = np.stack([box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]], axis=1)
        stops = np.cumsum(shapes[:, 0] * shapes[:, 1])
        keep = np.flatnonzero(self.floats[lo:hi, 1] >= min_prob) if min_prob else range(hi - lo)
        path, first = Path(sdir) / "regions" / f"{name}.npz", self.evidence[i]
        out = []
        for k in keep:
            stop = int(stops[k])
            h, w = (int(v) for v in shapes[k])
            source = PixelSource(path, "", stop - h * w, stop, (h, w), stamp)
            evidence = self.features[first + k] if first >= 0 else None
            out.append(StoredRegion.from_row(self._row(name, lo + k), evidence, source))
        return out

    def _row(self, name: str, j: int) -> dict:
        row = {f: self.text[f][j] for f in TEXT_FIELDS}
        row.update(zip(INT_FIELDS, self.ints[j].tolist(), strict=True), image=name)
        row.update(zip(FLOAT_FIELDS, self.floats[j].tolist(), strict=True))
        return row


def summarise(stamps: tuple, reviewed: np.ndarray, terms: np.ndarray) -> ImageSummary:
    """The summary of one image (``stamps`` taken before its files were read)."""
    return ImageSummary(tuple(stamps), bool(np.any(reviewed)), np.asarray(terms, np.float32))


#: Region-table columns stored as numbers (the rest, text, in the JSON table).
INT_FIELDS = ("cls", "area", "r0", "c0", "r1", "c1")
FLOAT_FIELDS = ("score", "prob_correct", "gain", "dice_gain")
TEXT_FIELDS = tuple(f for f in ROW_FIELDS if f not in (*INT_FIELDS, *FLOAT_FIELDS, "image"))


def write_index(sdir: Path, names: list[str], rows: dict, features: dict, summaries: dict) -> Path:
    """Write the index of ``names``: their region rows and evidence (as in their archives under
    ``sdir/regions``, which must be final) and their :class:`ImageSummary`. The table is kept
    by column (numbers as arrays), which reads back many times faster than a row per region."""
    flat = [row for n in names for row in rows[n]]
    with_evidence = [n for n in names if features[n].shape[1]]
    meta = {
        "format": FORMAT,
        "images": list(names),
        "counts": [len(rows[n]) for n in names],
        "archives": [file_stamp(sdir / "regions" / f"{n}.npz") for n in names],
        "evidence": [bool(features[n].shape[1]) for n in names],
        "stamps": [summaries[n].stamps for n in names],
        "any_reviewed": [summaries[n].any_reviewed for n in names],
        **{f: [row[f] for row in flat] for f in TEXT_FIELDS},
    }
    width = max((features[n].shape[1] for n in with_evidence), default=0)
    stacked = [np.asarray(features[n], np.float32) for n in with_evidence]
    arrays = {
        "meta": np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8),
        "ints": np.array([[row[f] for f in INT_FIELDS] for row in flat], np.int64).reshape(-1, 6),
        "floats": np.array([[row[f] for f in FLOAT_FIELDS] for row in flat]).reshape(-1, 4),
        "features": np.concatenate(stacked) if stacked else np.zeros((0, width), np.float32),
        "terms": np.stack([summaries[n].terms for n in names]) if names else np.zeros((0, 0, 3)),
    }
    return write_npz(sdir / INDEX, arrays)


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
        return _parse(meta, arrays)
    except (KeyError, TypeError, ValueError, AttributeError, json.JSONDecodeError) as exc:
        raise NoisyFixError(f"{path}: damaged review index ({exc})") from exc


def _parse(meta: dict, arrays: dict) -> ReviewIndex:
    names, counts = meta["images"], np.asarray(meta["counts"], np.int64)
    ints, floats = arrays["ints"].astype(np.int64), arrays["floats"].astype(np.float64)
    features, terms = arrays["features"], arrays["terms"]
    total = int(counts.sum())
    if (
        not len(ints) == len(floats) == total
        or len(terms) != len(names)
        or len(counts) != len(names)
    ):
        raise ValueError("columns do not match the images")
    if any(len(meta[f]) != total for f in TEXT_FIELDS):
        raise ValueError("text columns do not match the regions")
    check_table(meta["kind"], meta["scope"], ints[:, 4] - ints[:, 2], ints[:, 5] - ints[:, 3])
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
        names=list(names),
        starts=np.concatenate([[0], np.cumsum(counts)]),
        ints=ints,
        floats=floats,
        text={f: meta[f] for f in TEXT_FIELDS},
        evidence=evidence,
        features=features,
        archives={name: _tuple(meta["archives"][i]) for i, name in enumerate(names)},
        summaries=summaries,
    )


def _tuple(stamp):
    return None if stamp is None else tuple(int(v) for v in stamp)
