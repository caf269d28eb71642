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
from .storage import read_npz, rows_as_stored, write_npz

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
    """An index as read: per image its region rows, evidence and archive stamp, and summaries."""

    rows: dict[str, list[dict]] = field(default_factory=dict)
    features: dict[str, np.ndarray] = field(default_factory=dict)
    archives: dict[str, tuple] = field(default_factory=dict)
    summaries: dict[str, ImageSummary] = field(default_factory=dict)

    def summary(self, name: str, stamps: tuple) -> ImageSummary | None:
        """The stored summary of ``name`` if its working files still have ``stamps``."""
        found = self.summaries.get(name)
        return found if found is not None and found.stamps == tuple(stamps) else None


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
    names, counts = meta["images"], meta["counts"]
    ints, floats = arrays["ints"].tolist(), arrays["floats"].tolist()
    features, terms = arrays["features"], arrays["terms"]
    if not len(ints) == len(floats) == sum(counts) or len(terms) != len(names):
        raise ValueError("columns do not match the images")
    index, at, evidence_at = ReviewIndex(), 0, 0
    for i, name in enumerate(names):
        n = counts[i]
        index.rows[name] = [_row(meta, name, ints[j], floats[j], j) for j in range(at, at + n)]
        if meta["evidence"][i]:
            index.features[name] = features[evidence_at : evidence_at + n]
            evidence_at += n
        else:
            index.features[name] = np.zeros((n, 0), np.float32)
        at += n
        index.archives[name] = _tuple(meta["archives"][i])
        stamps = tuple(_tuple(s) for s in meta["stamps"][i])
        index.summaries[name] = ImageSummary(stamps, bool(meta["any_reviewed"][i]), terms[i])
    if evidence_at != len(features):
        raise ValueError("evidence rows do not match the regions")
    return index


def _row(meta: dict, name: str, ints: list, floats: list, j: int) -> dict:
    row = {f: meta[f][j] for f in TEXT_FIELDS}
    row.update(zip(INT_FIELDS, ints, strict=True), image=name)
    row.update(zip(FLOAT_FIELDS, floats, strict=True))
    return row


def _tuple(stamp):
    return None if stamp is None else tuple(int(v) for v in stamp)


def indexed_regions(sdir: Path, name: str, index: ReviewIndex, now: tuple | None) -> list | None:
    """The stored regions of ``name`` from ``index``, or None when the index does not hold its
    archive as it is ``now`` (its stamp; the caller then reads the archive)."""
    stamp = index.archives.get(name)
    if stamp is None or now != stamp:
        return None
    path = Path(sdir) / "regions" / f"{name}.npz"
    return rows_as_stored(path, index.rows[name], index.features[name], stamp)
