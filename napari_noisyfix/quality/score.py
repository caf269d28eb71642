"""Score a project: maps, error regions, outliers and image scores for one model version.

Files under ``scores/vNNNN/``::

    probs/<name>.npy       class probabilities (written by training, or here by the predictor)
    maps/<name>.npz        float16 maps (see :func:`~napari_noisyfix.quality.maps.compute_maps`)
    regions/<name>.npz     the image's error regions, its object descriptors and the model labels
    outliers.npz           clustering outliers of all images
    regions.csv            one row per region of every image
    image_scores.csv       one row per image
    review_index.npz       every image's region rows and evidence and a summary of its working
                           labels, read in one go when a review opens (:mod:`.index`)
    calibration.json       the calibration's verdict (can the model judge these masks?)
    quality_manifest.json  per image a hash of probabilities + mask and its raw and calibrated
                           rows; the thresholds, the foreground shift and the calibration key

Two passes. The first analyses each image (regions with their evidence, maps, raw image
features); it redoes only images whose probabilities or mask changed (or all when the class
thresholds moved by more than ``PARAMS.scoring.threshold_drift`` or the foreground shift by more
than ``PARAMS.scoring.shift_drift``). The second calibrates: errors are planted in copies of the
project's least suspicious masks, the calibration is fitted on them
(:mod:`~napari_noisyfix.quality.calibration`) and every image's regions, error map and image score
are rewritten with it. It runs whenever any
image was analysed again. The outlier clustering and the tables are rebuilt each time.
"""

from __future__ import annotations

import csv
import hashlib
import sys
from collections.abc import Generator
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from pathlib import Path

import numpy as np

from .._atomic import atomic_write_csv, folder_stamps, read_json, write_json
from ..errors import NoisyFixError
from ..progress import Progress
from .calibration import Calibration, evidence, fit_calibration
from .estimate import dice_terms
from .image_tasks import analyse_image, calibration_image
from .index import RegionTable, ReviewIndex, read_index, summarise, write_index
from .outliers import ObjectTable, find_outliers, object_labels
from .params import PARAMS, CalibrationParams
from .pool import run_tasks, worker_count
from .prior_shift import EDGES, foreground_shift, logodds_histogram
from .region import ROW_FIELDS, Region
from .storage import (
    read_maps,
    read_npz,
    regions_arrays,
    regions_from_arrays,
    stored_regions,
    write_maps,
    write_npz,
)
from .summary import model_area_ratio, score_summary
from .thresholds import apply_override, check_probs, class_sums, thresholds_from_sums
from .verdict import Verdict

MANIFEST = "quality_manifest.json"
VERDICT_FILE = "calibration.json"
#: Version of the cached files' layout; caches of another version are rebuilt.
CACHE_FORMAT = 7
IMAGE_FIELDS = (
    "image",
    "quality",
    "error_score",
    "est_dice",
    "softmin",
    "n_regions",
    "error_pixels",
)


def score_project(
    project,
    version: int | None = None,
    tta: bool = False,
    force: bool = False,
    thresholds: dict[int, float] | None = None,
    features: bool = False,
    calibration_params: CalibrationParams = PARAMS.calibration,
) -> Generator[Progress, None, str]:
    """Score every image of ``project`` with a model version (newest by default).

    Stored (out-of-fold) probabilities are used; the predictor runs only for images without them
    (with test-time augmentation when ``tta``) and its output is stored. Yields :class:`Progress`
    and returns a summary: one line of counts, the calibration's verdict, and its warning when
    the model cannot judge the masks.

    Parameters
    ----------
    project : Project
        The project.
    version : int, optional
        Model version; the newest by default.
    tta : bool
        Test-time augmentation for images the predictor has to score.
    force : bool
        Rescore every image even if nothing changed.
    thresholds : dict, optional
        ``{class: threshold}`` overriding the data-derived confident-learning thresholds.
    features : bool
        Also run the predictor on every rescored image for its decoder features (pooled into the
        outlier descriptors) and its TTA / MC samples (variance and mutual-information maps).
    calibration_params : CalibrationParams
        How the per-project calibration is built (the documented defaults; a benchmark varies
        its planting seed to measure how much the scores depend on the draw).
    """
    version = _model_version(project, version)
    sdir = project.scores_dir(version)
    predictor = _LazyPredictor(project, version)
    hashes, sums, logodds, summaries = yield from _collect(project, version, tta, predictor)
    thr = apply_override(thresholds_from_sums(*sums), thresholds)
    manifest = {} if force else _read_manifest(sdir)
    thr, stale = _settle(thr, manifest.get("thresholds"), PARAMS.scoring.threshold_drift)
    shift, moved = _settle(
        np.array([foreground_shift(*logodds)]), manifest.get("fg_shift"), PARAMS.scoring.shift_drift
    )
    shift, area_ratio = float(shift[0]), model_area_ratio(*logodds)
    del logodds  # the histograms (480 counts an image) are not held through the analyses
    stale = stale or moved
    stale = stale or bool(manifest.get("features")) != features
    stale = stale or manifest.get("format") != CACHE_FORMAT
    extra = (predictor, tta) if features else None
    done = manifest.get("images", {})
    raw, kept, todo = {}, {}, []
    for name in project.names:
        fresh = not stale and done.get(name, {}).get("hash") == hashes[name]
        archive = _read_archive(sdir, name) if fresh and "raw" in done[name] else None
        if archive is None:
            todo.append(name)
            continue
        raw[name] = done[name]["raw"]
        kept[name] = _keep(project, sdir, name, archive)
        yield Progress("score: regions", len(kept), len(project.names), name)
    yield from _analyse_images(project, version, todo, (thr, shift), extra, raw, kept)
    redone = len(todo)
    key = _calibration_key(hashes, features, calibration_params)
    if redone or manifest.get("calibration_key") != key:
        calibration = yield from _calibrate(project, version, (thr, shift), raw, calibration_params)
        rows = yield from _apply_calibration(project, sdir, calibration, raw, kept)
        verdict = calibration.verdict
    else:
        rows = {n: done[n]["row"] for n in project.names}
        verdict = load_verdict(project, version)
    outliers = find_outliers([kept[n].table for n in project.names])
    outliers = _finish_outliers(outliers, kept, rows)
    write_npz(sdir / "outliers.npz", regions_arrays(outliers))
    _write_tables(project, sdir, rows, kept, outliers)
    names = project.names
    write_index(sdir, names, {n: kept[n].regions for n in names}, summaries)
    write_json(sdir / VERDICT_FILE, verdict.to_dict())
    manifest = _manifest(hashes, raw, rows, [float(t) for t in thr], shift, features)
    write_json(sdir / MANIFEST, {**manifest, "calibration_key": key}, indent=None)
    return score_summary(version, redone, len(rows), len(outliers), area_ratio, verdict)


def _calibration_key(hashes: dict, features: bool, params: CalibrationParams) -> str:
    """Digest of everything the calibration depends on: every image's probabilities and mask,
    the calibration's parameters and the cache layout."""
    h = hashlib.sha1(repr((CACHE_FORMAT, params, features)).encode())
    for name in sorted(hashes):
        h.update(f"{name}:{hashes[name]};".encode())
    return h.hexdigest()


def calibration_images(project, raw: dict, params=PARAMS.calibration) -> list[str]:
    """The images whose masks receive planted errors, sorted.

    Masks with foreground among the ``params.base_share`` least suspicious under the
    uncalibrated image score: clean-subset masks first, then a seeded random draw from the rest
    of that pool, at most ``params.max_images`` in all. A random draw rather than the least
    suspicious ones keeps the calibration images as hard as the project's other correct masks:
    the model's own disagreement on them is what the calibration must learn to tell apart.
    """
    names = [n for n in project.names if raw[n]["foreground"] > 0]
    ranked = sorted(names, key=lambda n: (raw[n]["noisy_or"], n))
    pool_size = max(params.min_images, int(np.ceil(params.base_share * len(project.names))))
    clean = [n for n in names if project.is_clean(n)]
    pool = [n for n in ranked[:pool_size] if n not in clean]
    room = max(0, params.max_images - len(clean))
    rng = np.random.default_rng(params.seed)
    drawn = rng.choice(len(pool), size=min(room, len(pool)), replace=False) if pool else []
    return sorted(clean[: params.max_images] + [pool[i] for i in drawn])


def _calibrate(project, version: int, calibration, raw: dict, params=PARAMS.calibration):
    """Plant errors in the calibration images and fit the calibration (a generator)."""
    base = calibration_images(project, raw, params)
    samples = yield from calibration_samples(project, version, calibration, base, params)
    return fit_calibration(samples, params)


def calibration_samples(project, version: int, calibration, base: list[str], params):
    """The calibration examples of the images ``base``: each mask as it is and copies with planted
    errors (:func:`~.calibration_data.image_samples`), grouped by patient (a generator). The
    images are analysed in a pool of processes when the work pays for one (:mod:`.pool`); the
    samples come back in the order of ``base`` either way."""
    patients = sorted({project.patient(n) for n in base})
    group = {p: i for i, p in enumerate(patients)} if len(patients) > 1 else None
    plants = max(params.plants_per_image, -(-params.min_planted // max(len(base), 1)))
    workers = worker_count(len(base), plants + 1)
    source = project if workers < 2 else project.root
    groups = [group[project.patient(name)] if group else i for i, name in enumerate(base)]
    tasks = [
        (source, version, name, i, g, calibration, plants, params)
        for i, (name, g) in enumerate(zip(base, groups, strict=True))
    ]
    found: list = [None] * len(base)
    for done, (i, samples) in enumerate(run_tasks(calibration_image, tasks, workers), 1):
        found[i] = samples
        yield Progress("score: calibration", done, len(base), base[i])
    return [sample for samples in found for sample in samples]


def _apply_calibration(project, sdir: Path, calibration: Calibration, raw: dict, kept: dict):
    """Rewrite every image's regions, error map and row with ``calibration`` (a generator);
    returns the image rows and updates ``kept``'s region rows. The models predict once for all
    images from their evidence rows; regions and maps are read and written one image at a time."""
    predicted = calibration.predict({n: (raw[n], kept[n].evidence) for n in project.names})
    rows = {}
    for i, name in enumerate(project.names):
        where = sdir / "regions" / f"{name}.npz"
        archive = read_npz(where)
        regions = regions_from_arrays(archive, str(where))
        maps = read_maps(sdir / "maps" / f"{name}.npz")
        image = calibration.apply(regions, maps, predicted[name])
        archive.update(regions_arrays(regions))
        write_npz(where, archive)
        write_maps(sdir / "maps" / f"{name}.npz", maps)
        rows[name] = _image_row(name, raw[name], image, maps, len(regions))
        kept[name].regions = RegionTable.of([r.to_row() for r in regions], archive["features"])
        yield Progress("score: calibrated", i + 1, len(project.names), name)
    return rows


def _image_row(name: str, raw: dict, image: dict, maps: dict, n_regions: int) -> dict:
    """One row of ``image_scores.csv``."""
    return {
        "image": name,
        "quality": round(1.0 - image["error_score"], 6),
        "error_score": round(image["error_score"], 6),
        "est_dice": round(image["est_dice"], 6),
        "softmin": round(raw["softmin"], 6),
        "n_regions": n_regions,
        "error_pixels": round(float(maps["error_score"].sum()), 2),
    }


def load_verdict(project, version: int | None = None) -> Verdict:
    """The calibration verdict of a scored version (uncalibrated when none was stored)."""
    path = project.scores_dir(scored_version(project, version)) / VERDICT_FILE
    if not path.exists():
        return Verdict.uncalibrated("scored before calibration existed")
    data = read_json(path)
    return Verdict.from_dict(data) if isinstance(data, dict) else Verdict.uncalibrated("unreadable")


def _settle(new: np.ndarray, old, drift: float) -> tuple[np.ndarray, bool]:
    """Keep the previous calibration values (class thresholds, foreground shift) unless one moved
    by more than ``drift``; ``old`` is read in ``new``'s dtype.

    Returns the values to use and whether every image must be rescored.
    """
    if old is None or np.size(old) != np.size(new):
        return new, True
    old = np.asarray(old, dtype=new.dtype).reshape(new.shape)
    if np.max(np.abs(old - new)) > drift:
        return new, True
    return old, False


def _model_version(project, version):
    version = version if version is not None else project.latest_model_version()
    if version is None:
        raise NoisyFixError(f"{project.root}: no model yet (run `noisyfix train` first)")
    if int(version) not in project.model_versions():
        raise NoisyFixError(f"{project.model_dir(version)}: no such model version to score")
    project.check_writable(f"score model version {int(version)}")
    return int(version)


def _collect(project, version, tta, predictor):
    """Probabilities of every image (predicting missing ones): hashes, class sums, foreground
    log-odds histograms and the summaries of the working labels (:mod:`.index`)."""
    names = project.names
    hashes, sums, counts, summaries = {}, 0.0, 0.0, {}
    histograms = np.zeros((len(names), len(EDGES) - 1), np.int32)
    fg_counts = np.zeros(len(names), np.int64)
    for i, name in enumerate(names):
        probs = project.load_probs(name, version)
        if probs is None:
            pred = predictor.get().predict(project.image(name), tta=tta)
            project.save_probs(version, name, pred.probs)
            probs = project.load_probs(name, version)
        stamps = project.working_stamps(name)  # before reading: a later save is seen as one
        mask = project.mask(name)
        check_probs(probs, mask, f"{project.root}: {name}")
        s, c = class_sums(probs, mask)
        sums, counts = sums + s, counts + c
        histograms[i], fg_counts[i] = logodds_histogram(probs, mask)
        hashes[name] = _digest(probs, mask)
        reviewed = project.reviewed(name)
        summaries[name] = summarise(stamps, reviewed, dice_terms(probs, mask, reviewed))
        yield Progress("score: probabilities", i + 1, len(names), name)
    logodds = (histograms, fg_counts)
    return hashes, (np.asarray(sums), np.asarray(counts)), logodds, summaries


class _LazyPredictor:
    """Loads the model of a version the first time it is needed."""

    def __init__(self, project, version: int):
        self.model_dir = project.model_dir(version)
        self._predictor = None

    def get(self):
        if self._predictor is None:
            if not self.model_dir.is_dir():
                raise NoisyFixError(
                    f"{self.model_dir}: no stored probabilities and no model to compute them"
                )
            from ..model import Predictor

            self._predictor = Predictor.load(self.model_dir)
        return self._predictor


def _digest(probs: np.ndarray, mask: np.ndarray) -> str:
    h = hashlib.sha1(np.ascontiguousarray(probs.astype(np.float16)).tobytes())
    h.update(np.ascontiguousarray(mask.astype(np.uint8)).tobytes())
    return h.hexdigest()


def _cached(sdir: Path, name: str) -> bool:
    return (sdir / "maps" / f"{name}.npz").exists() and (sdir / "regions" / f"{name}.npz").exists()


def _read_archive(sdir: Path, name: str) -> dict | None:
    """The cached region archive of one image, or None when a cache file is missing, unreadable
    or from an older layout (the image is then scored again)."""
    if not _cached(sdir, name):
        return None
    try:
        archive = read_npz(sdir / "regions" / f"{name}.npz")
    except NoisyFixError:
        return None
    return archive if "object_classes" in archive and "regions" in archive else None


def _analyse_images(project, version, names, calibration, extra, raw: dict, kept: dict):
    """Analyse the images ``names`` with ``calibration`` (class thresholds, foreground shift)
    and write their caches, filling ``raw`` and ``kept`` (a generator). The analyses run in a
    pool of processes when the work pays for one (:mod:`.pool`), except when the predictor
    has to run too (``extra``: it stays on this process's device); files are written here."""
    sdir = project.scores_dir(version)
    workers = 1 if extra is not None else worker_count(len(names), 1)
    source = project if workers < 2 else project.root
    tasks = [(source, version, name, calibration, extra) for name in names]
    for i, (found_raw, maps, archive) in run_tasks(analyse_image, tasks, workers):
        name = names[i]
        write_maps(sdir / "maps" / f"{name}.npz", maps)
        write_npz(sdir / "regions" / f"{name}.npz", archive)
        # the keys as one set of strings, not a copy per image from each worker's pickle
        raw[name] = {sys.intern(k): v for k, v in found_raw.items()}
        kept[name] = _keep(project, sdir, name, archive)
        yield Progress("score: regions", len(kept), len(project.names), name)


@dataclass
class _Kept:
    """What scoring holds of one image between its passes: its object descriptors and region
    table (with the evidence rows), no image-sized array (a large project's regions, maps and
    predictions stay on disk)."""

    table: ObjectTable
    regions: RegionTable

    @property
    def evidence(self) -> np.ndarray:
        """The regions' evidence rows ((0, F) when they have none)."""
        features = self.regions.features
        return features if features.shape[1] else evidence([])


def _keep(project, sdir: Path, name: str, archive: dict) -> _Kept:
    """The small summary of one image's region archive."""
    regions = regions_from_arrays(archive, str(sdir / "regions" / f"{name}.npz"))
    table = _object_table(project, sdir, name, archive)
    features = archive.get("features", np.zeros((len(regions), 0), np.float32))
    return _Kept(table, RegionTable.of([r.to_row() for r in regions], features))


def _object_table(project, sdir: Path, name: str, archive: dict) -> ObjectTable:
    """Descriptors of one image; its label map and the model's labels are read only if an
    object is flagged."""
    columns = _columns(tuple(str(c) for c in archive["object_columns"]))

    def load():
        prediction = read_npz(sdir / "regions" / f"{name}.npz")["prediction"]
        return object_labels(project.mask(name))[0], prediction

    return ObjectTable(name, archive["object_classes"], archive["object_X"], columns, loader=load)


@lru_cache(maxsize=8)
def _columns(names: tuple[str, ...]) -> list[str]:
    """One list of descriptor names shared by every image's table (they are the same)."""
    return list(names)


def _finish_outliers(outliers: list[Region], kept: dict, rows: dict) -> list[Region]:
    """Number outliers after their image's error regions; weigh them by the image's evidence."""
    counts: dict[str, int] = {}
    for reg in outliers:
        reg.prob_correct *= float(rows[reg.image]["error_score"])
        reg.gain *= float(rows[reg.image]["error_score"])
        counts.setdefault(reg.image, len(kept[reg.image].regions))
        reg.id = f"{reg.image}#{counts[reg.image]}"
        counts[reg.image] += 1
    return outliers


def _read_manifest(sdir: Path) -> dict:
    path = sdir / MANIFEST
    if not path.exists():
        return {}
    data = read_json(path)
    return data if isinstance(data, dict) else {}


def _manifest(hashes, raw, rows, thresholds: list, shift: float, features: bool) -> dict:
    return {
        "format": CACHE_FORMAT,
        "thresholds": thresholds,
        "fg_shift": shift,
        "features": features,
        "images": {n: {"hash": hashes[n], "raw": raw[n], "row": rows[n]} for n in hashes},
    }


def _write_tables(project, sdir: Path, rows: dict, kept: dict, outliers: list[Region]) -> None:
    """``regions.csv`` and ``image_scores.csv``, written row by row (a large project's table
    is never held as one text)."""
    names = project.names
    images = (row for n in names for row in kept[n].regions.rows(n))
    every = chain(images, (r.to_row() for r in outliers))
    atomic_write_csv(sdir / "regions.csv", every, ROW_FIELDS)
    atomic_write_csv(sdir / "image_scores.csv", (rows[n] for n in names), IMAGE_FIELDS)


def _image_regions(sdir: Path, name: str) -> list[Region]:
    return stored_regions(sdir / "regions" / f"{name}.npz")


# ---------------------------------------------------------------------- readers
def scored_version(project, version: int | None = None) -> int:
    """``version`` if it was scored, else the newest scored version; raises when none is."""
    root = Path(project.root) / "scores"
    found = sorted(int(p.parent.name[1:]) for p in root.glob("v[0-9][0-9][0-9][0-9]/" + MANIFEST))
    if version is not None:
        if int(version) not in found:
            raise NoisyFixError(f"{project.root}: model v{int(version):04d} was not scored")
        return int(version)
    if not found:
        raise NoisyFixError(f"{project.root}: nothing scored yet (run `noisyfix score` first)")
    return found[-1]


def load_regions(
    project, version: int | None = None, index: ReviewIndex | None = None, min_prob: float = 0.0
) -> list[Region]:
    """Every region (errors of each image, then clustering outliers) of a scored version whose
    ``prob_correct`` is at least ``min_prob`` (0 keeps all; the review queue's bar makes a
    session of 10,000 images make only the regions it can show); their pixels are read back
    from the archives when used (:class:`~.storage.StoredRegion`). They come from the review
    index (``index``, read here when not given) where it holds, else from each image's archive."""
    sdir = project.scores_dir(scored_version(project, version))
    index = read_index(sdir) if index is None else index
    maps = folder_stamps(sdir / "maps", ".npz")
    archives = folder_stamps(sdir / "regions", ".npz")
    regions = []
    for name in project.names:
        if name not in maps:
            continue
        found = index.regions(sdir, name, archives.get(name), min_prob)
        if found is None and _cached(sdir, name):
            found = [r for r in _image_regions(sdir, name) if r.prob_correct >= min_prob]
        regions += found or []
    outliers = stored_regions(sdir / "outliers.npz")
    return regions + [r for r in outliers if r.prob_correct >= min_prob]


def load_maps(project, name: str, version: int | None = None) -> dict[str, np.ndarray]:
    """Cached maps of one image (float32)."""
    project.entry(name)
    return read_maps(project.scores_dir(scored_version(project, version)) / "maps" / f"{name}.npz")


def load_image_scores(project, version: int | None = None) -> list[dict]:
    """Rows of ``image_scores.csv`` with numbers parsed."""
    path = project.scores_dir(scored_version(project, version)) / "image_scores.csv"
    if not path.exists():
        raise NoisyFixError(f"{path}: file not found (run `noisyfix score`)")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        for key in IMAGE_FIELDS[1:]:
            row[key] = float(row[key]) if key != "n_regions" else int(row[key])
    return rows
