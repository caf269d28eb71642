"""Benchmark data: read a folder with ``images/`` and ``masks/``, corrupt the masks with the
protocol's label noise (or take them as given, with the truth from another folder), shrink
everything to the budget's size and build the benchmark project.

The masks are binarised (any non-zero class is foreground), because the protocol's noise types
are defined on foreground objects. With ``labels="instance"`` the masks are object ids (read from
``masks_instance/`` when the folder has one, as the shared sets do, else from ``masks/``): the
planted noise adds ``merge`` and ``split`` (:mod:`~napari_noisyfix.synth.instance_noise`) to the
types drawn on the union, the ids are kept beside the unions every semantic measure reads, and
the benchmark project is an instance project. Synthetic noise (``source`` ``"synthetic"``) is applied at the
data's own resolution (the protocol's radii are in its pixels); with real noise (``"given"``) the
masks of ``masks/`` are the noisy ones and the true masks are read from the truth folder. The
images, true and noisy masks are then resized together: images with anti-aliasing, masks by
nearest neighbour.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from skimage.transform import resize

from ..errors import NoisyFixError
from ..evaluate import dice


@dataclass
class BenchData:
    """Images, true and noisy masks of one benchmark run, all at the working size.

    Attributes
    ----------
    source : str
        ``"synthetic"`` (noise drawn by :func:`~napari_noisyfix.synth.noise.corrupt_dataset`) or
        ``"given"`` (the masks as given, the truth from ``truth_dir``).
    types : str
        The normalised noise types (:func:`noise_types`), ``"given"`` for real noise.
    fraction : float
        The requested share of corrupted images; for real noise the share that differ.
    truth_dir : str or None
        The truth folder of real noise.
    truth_ids, noisy_ids : dict or None
        An instance run's true and given object ids (uint16, working size); ``truth`` and
        ``noisy`` are then their unions.
    """

    dataset: str
    patients: dict[str, str]
    images: dict[str, np.ndarray]
    truth: dict[str, np.ndarray]
    noisy: dict[str, np.ndarray]
    noise_log: list[dict]
    source: str = "synthetic"
    types: str = "protocol"
    fraction: float = 0.0
    truth_dir: str | None = None
    truth_ids: dict[str, np.ndarray] | None = None
    noisy_ids: dict[str, np.ndarray] | None = None

    @property
    def names(self) -> list[str]:
        """Image names, sorted."""
        return sorted(self.images)

    @property
    def is_instance(self) -> bool:
        """Whether the masks are object ids (``--labels instance``)."""
        return self.truth_ids is not None

    @property
    def stored_truth(self) -> dict[str, np.ndarray]:
        """The true masks as the benchmark project stores them: object ids, else ``truth``."""
        return self.truth_ids if self.is_instance else self.truth

    def corrupted(self) -> dict[str, bool]:
        """Whether each image's given mask differs from its true mask."""
        return {e["name"]: bool(e["corrupted"]) for e in self.noise_log}

    def subset(self, names) -> BenchData:
        """The same run restricted to ``names``."""
        keep = set(names)

        def kept(table):
            return None if table is None else {n: v for n, v in table.items() if n in keep}

        return replace(
            self,
            patients=kept(self.patients),
            images=kept(self.images),
            truth=kept(self.truth),
            noisy=kept(self.noisy),
            noise_log=[r for r in self.noise_log if r["name"] in keep],
            truth_ids=kept(self.truth_ids),
            noisy_ids=kept(self.noisy_ids),
        )


#: Share of patients the benchmark holds out as its test split (never in the project).
TEST_SHARE = 0.2


def redraw(results: dict, data_dir: str | Path) -> tuple[BenchData, list[str], list[str]]:
    """A finished run's data drawn again from what its ``results`` (``results.json``) recorded:
    the noise fraction, seed and types and the budget's image size. Returns all of it, the names
    its project holds and its test split (:func:`hold_out_test`)."""
    from .budget import get_budget

    seed, kinds = int(results["noise.seed"]), results.get("noise.types", "protocol")
    size = get_budget(results.get("budget", "fast")).size
    everything = prepare(data_dir, results["noise.fraction"], seed, size, kinds)
    return (everything, *hold_out_test(everything, seed))


def hold_out_test(data: BenchData, seed: int) -> tuple[list[str], list[str]]:
    """(project names, test names): about :data:`TEST_SHARE` of the patients held out, stratified
    by foreground share, for every measure that needs a test set (3 and 5)."""
    from ..splits import train_val_test_split

    fg = {n: float(m.mean()) for n, m in data.truth.items()}
    keep, _, test = train_val_test_split(
        data.names, data.patients, val=0.0, test=TEST_SHARE, seed=seed, fg=fg
    )
    return keep, test


#: Label kinds of a benchmark's masks (``--labels``).
LABELS = ("semantic", "instance")
#: The folder an instance benchmark reads its object ids from when DATA has one.
INSTANCE_MASKS = "masks_instance"


def masks_folder(data_dir: str | Path, labels: str = "semantic") -> Path:
    """``DATA_DIR/masks``, or for instance labels ``DATA_DIR/masks_instance`` when it exists."""
    data_dir = Path(data_dir)
    if labels not in LABELS:
        raise NoisyFixError(f"--labels {labels!r}: choose one of {', '.join(LABELS)}")
    if labels == "instance" and (data_dir / INSTANCE_MASKS).is_dir():
        return data_dir / INSTANCE_MASKS
    return data_dir / "masks"


def read_folder(data_dir: str | Path, labels: str = "semantic") -> list:
    """Image/mask pairs (:class:`~napari_noisyfix.io.pairs.ImagePair`) of ``DATA_DIR/images`` and
    ``DATA_DIR/masks``, in any format the io stage reads (volumes become 2D slices); with
    ``labels="instance"`` the masks (of :func:`masks_folder`) are read as object ids."""
    from ..io.pairs import read_folder_pairs, read_label_pairs

    data_dir = Path(data_dir)
    masks = masks_folder(data_dir, labels)
    for sub in (data_dir / "images", masks):
        if not sub.is_dir():
            raise NoisyFixError(f"{data_dir}: benchmark data needs an '{sub.name}/' folder")
    if labels == "instance":
        pairs = read_label_pairs(data_dir / "images", masks, "instance")[0]
    else:
        pairs = read_folder_pairs(data_dir / "images", masks)
    if not pairs:
        raise NoisyFixError(f"{data_dir}: no image/mask pairs found")
    return pairs


def working_shape(shapes: list[tuple[int, int]], size: int) -> tuple[int, int]:
    """The common working shape: the most frequent shape scaled so its shorter side is ``size``,
    the longer side rounded to a multiple of 32."""
    h, w = Counter(shapes).most_common(1)[0][0]
    scale = size / min(h, w)
    return tuple(max(32, int(round(s * scale / 32)) * 32) for s in (h, w))


def _resize_image(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    out = resize(image.astype(np.float32), (*shape, *image.shape[2:]), anti_aliasing=True)
    return out.astype(np.float32)


def _resize_mask(mask: np.ndarray, shape: tuple[int, int], dtype=np.uint8) -> np.ndarray:
    """A mask (class or object ids, kept as ``dtype``) resized by nearest neighbour."""
    return resize(mask, shape, order=0, anti_aliasing=False, preserve_range=True).astype(dtype)


def noise_types(text: str) -> str:
    """The normalised ``--noise-types`` text: its comma-separated names stripped, lower case,
    repeats dropped (``" Realistic "`` -> ``realistic``, ``"drop, add,drop"`` -> ``drop,add``);
    it selects the same noise categories, in the same order, as ``text``.

    Raises
    ------
    NoisyFixError
        An unknown name (:func:`~napari_noisyfix.synth.noise.parse_kinds`).
    """
    from ..synth.noise import parse_kinds

    parse_kinds(text)
    return ",".join(dict.fromkeys(item.strip().lower() for item in str(text).split(",")))


def with_instance_types(types: str) -> str:
    """Normalised noise types for instance masks: ``types`` plus the ``instance`` group (merge
    and split), unless ``types`` already names one of them."""
    from ..synth.instance_noise import INSTANCE_KINDS

    if set(types.split(",")) & {*INSTANCE_KINDS, "instance"}:
        return types
    return f"{types},instance"


def _binary(mask) -> np.ndarray:
    return (np.asarray(mask) > 0).astype(np.uint8)


def read_truth(pairs: list, truth_dir: str | Path, ids: bool = False) -> dict[str, np.ndarray]:
    """The true masks of ``pairs`` from ``truth_dir``, binarised (``ids``: as uint16 object ids):
    for each given mask the file of the same stem, in any mask format the io stage reads (a
    volume's slices by index).

    Raises
    ------
    NoisyFixError
        A given mask without a truth file, or a truth of another shape (one line naming the file).
    """
    from ..io.formats import stem
    from ..io.pairs import folder_entries

    files = folder_entries(truth_dir, "truth masks")
    depth = Counter(p.mask_source for p in pairs)
    volumes: dict[str, np.ndarray] = {}
    out = {}
    for p in pairs:
        key = stem(p.mask_source)
        if key not in files:
            raise NoisyFixError(f"{p.mask_source}: no truth mask '{key}.*' in {truth_dir}")
        if key not in volumes:
            volumes[key] = _truth_file(files[key], p, depth[p.mask_source], ids)
        z = p.source.get("slice")
        mask = volumes[key] if z is None else volumes[key][z]
        out[p.name] = mask if ids else _binary(mask)
    return out


def _truth_file(path: Path, pair, depth: int, ids: bool = False) -> np.ndarray:
    """One truth file's mask (or object ids), checked against the shape of the given mask (or
    volume)."""
    from ..io.pairs import raw_ids
    from ..io.readers import load_raw, to_mask

    raw = load_raw(path, for_mask=True)
    mask = raw_ids(raw, path) if ids else to_mask(raw, path)[0]
    volume = pair.source.get("slice") is not None
    expected = (depth, *pair.mask.shape) if volume else tuple(pair.mask.shape)
    if tuple(mask.shape) != expected:
        raise NoisyFixError(
            f"{path}: truth mask shape {tuple(mask.shape)} does not match the given mask "
            f"{Path(pair.mask_source).name} shape {expected}"
        )
    return mask


def _given_log(noisy: dict[str, np.ndarray], truth: dict[str, np.ndarray]) -> list[dict]:
    """Noise-log rows of real noise: type ``given``, corrupted where the masks differ."""
    return [
        {
            "name": n,
            "corrupted": bool(np.any(noisy[n] != truth[n])),
            "type": "given",
            "params": {},
            "dice": dice(noisy[n], truth[n]),
        }
        for n in sorted(noisy)
    ]


def prepare(
    data_dir: str | Path,
    noise: float,
    seed: int,
    size: int,
    kinds: str = "protocol",
    truth_dir: str | Path | None = None,
    labels: str = "semantic",
) -> BenchData:
    """Read, corrupt (fraction ``noise``, ``seed``, noise types ``kinds``) and resize a
    benchmark folder; with ``truth_dir``, take its masks as given and the truth from there
    (``noise`` and ``kinds`` are then ignored). ``labels="instance"`` reads object ids
    (:func:`read_folder`) and adds ``merge`` and ``split`` to ``kinds``
    (:func:`with_instance_types`).

    Returns
    -------
    BenchData
        With ``noise_log`` rows of :func:`~napari_noisyfix.synth.noise.corrupt_dataset` (real
        noise: type ``given``) plus ``dice_working``: Dice of the noisy against the true mask at
        the working size; ``corrupted`` holds only where they differ at that size (the unions:
        a split that leaves the union as it was is not counted).
    """
    from ..synth.noise import corrupt_dataset

    types = noise_types(kinds) if truth_dir is None else "given"  # checked before reading
    pairs = read_folder(data_dir, labels)
    instance = labels == "instance"
    types = with_instance_types(types) if instance and truth_dir is None else types
    given = {p.name: p.mask if instance else _binary(p.mask) for p in pairs}
    if truth_dir is None:
        truth_full = given
        noisy_full, log = corrupt_dataset(given, noise, seed, kinds=types, instances=instance)
    else:
        truth_full, noisy_full = read_truth(pairs, truth_dir, ids=instance), given
        log = _given_log(_unions(given), _unions(truth_full))
    images = {p.name: np.asarray(p.image) for p in pairs}
    shape = working_shape([im.shape[:2] for im in images.values()], size)
    dtype = np.uint16 if instance else np.uint8
    truth_ids = {n: _resize_mask(m, shape, dtype) for n, m in truth_full.items()}
    noisy_ids = {n: _resize_mask(m, shape, dtype) for n, m in noisy_full.items()}
    truth, noisy = _unions(truth_ids), _unions(noisy_ids)
    for row in log:
        row["dice_working"] = dice(noisy[row["name"]], truth[row["name"]])
        row["corrupted"] = bool(row["corrupted"]) and bool(
            np.any(noisy[row["name"]] != truth[row["name"]])
        )
    return BenchData(
        Path(data_dir).resolve().name,
        {p.name: str(p.patient) for p in pairs},
        {n: _resize_image(im, shape) for n, im in images.items()},
        truth,
        noisy,
        log,
        **_noise_facts(log, types, noise, truth_dir),
        **({"truth_ids": truth_ids, "noisy_ids": noisy_ids} if instance else {}),
    )


def _unions(masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """uint8 0/1 foreground of each mask (class or object ids)."""
    return {n: _binary(m) for n, m in masks.items()}


def _noise_facts(log: list[dict], types: str, noise: float, truth_dir) -> dict:
    """The noise fields of :class:`BenchData`: for real noise the share of masks that differ."""
    if truth_dir is None:
        return {"types": types, "fraction": float(noise)}
    return {
        "source": "given",
        "types": types,
        "fraction": float(np.mean([r["corrupted"] for r in log])),
        "truth_dir": str(Path(truth_dir).resolve()),
    }


def noise_summary(data: BenchData) -> dict:
    """The ``noise.*`` keys of ``results.json``: source, types, fraction (and the truth folder of
    real noise), corrupted images, and the mean noisy-label Dice over all images (the protocol's
    figure: clean ones count as 1) and over the corrupted images only, at the working size."""
    corrupted = [r["dice_working"] for r in data.noise_log if r["corrupted"]]
    where = {"noise.truth_dir": data.truth_dir} if data.truth_dir else {}
    return {
        "noise.source": data.source,
        "noise.types": data.types,
        "noise.fraction": data.fraction,
        **where,
        "noise.n_corrupted": len(corrupted),
        "noise.mean_noisy_dice": float(np.mean([r["dice_working"] for r in data.noise_log])),
        "noise.mean_noisy_dice_corrupted": float(np.mean(corrupted)) if corrupted else 1.0,
    }


def build_project(data: BenchData, root: Path, truth_as_labels: bool = False):
    """The benchmark project: noisy masks as the given labels, true masks kept as truth (an
    instance run's project holds their object ids: an instance project).

    Patients come from the reader (a volume's slices share one; a 2D image is its own, as in
    the shared data, which have no patient ids). ``truth_as_labels`` gives the expert masks as
    the labels instead (the clean-training ceiling of measure 3).
    """
    from ..project import Project

    truth = data.stored_truth
    labels = truth if truth_as_labels else (data.noisy_ids if data.is_instance else data.noisy)
    return Project.create(
        root,
        data.images,
        labels,
        patients=data.patients,
        truth=truth,
        name=data.dataset,
        force=True,
        labels="instance" if data.is_instance else "semantic",
    )
