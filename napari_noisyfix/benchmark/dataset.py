"""Benchmark data: read a folder with ``images/`` and ``masks/``, corrupt the masks with the
protocol's label noise, shrink everything to the budget's size and build the benchmark project.

The masks are binarised (any non-zero class is foreground), because the protocol's noise types
are defined on foreground objects. Noise is applied at the data's own resolution (the protocol's
radii are in its pixels) and the images, true and noisy masks are then resized together: images
with anti-aliasing, masks by nearest neighbour.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from skimage.transform import resize

from ..errors import NoisyFixError
from ..evaluate import dice


@dataclass
class BenchData:
    """Images, true and noisy masks of one benchmark run, all at the working size."""

    dataset: str
    patients: dict[str, str]
    images: dict[str, np.ndarray]
    truth: dict[str, np.ndarray]
    noisy: dict[str, np.ndarray]
    noise_log: list[dict]

    @property
    def names(self) -> list[str]:
        """Image names, sorted."""
        return sorted(self.images)

    def corrupted(self) -> dict[str, bool]:
        """Whether each image's given mask differs from its true mask."""
        return {e["name"]: bool(e["corrupted"]) for e in self.noise_log}


def read_folder(data_dir: str | Path) -> list:
    """Image/mask pairs (:class:`~napari_noisyfix.io.pairs.ImagePair`) of ``DATA_DIR/images`` and
    ``DATA_DIR/masks``, in any format the io stage reads (volumes become 2D slices)."""
    from ..io.pairs import read_folder_pairs

    data_dir = Path(data_dir)
    for sub in ("images", "masks"):
        if not (data_dir / sub).is_dir():
            raise NoisyFixError(f"{data_dir}: benchmark data needs an '{sub}/' folder")
    pairs = read_folder_pairs(data_dir / "images", data_dir / "masks")
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


def _resize_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return resize(mask, shape, order=0, anti_aliasing=False, preserve_range=True).astype(np.uint8)


def prepare(data_dir: str | Path, noise: float, seed: int, size: int) -> BenchData:
    """Read, corrupt (fraction ``noise``, ``seed``) and resize a benchmark folder.

    Returns
    -------
    BenchData
        With ``noise_log`` rows of :func:`~napari_noisyfix.synth.noise.corrupt_dataset` plus
        ``dice_working``: Dice of the noisy against the true mask at the working size.
    """
    from ..synth.noise import corrupt_dataset

    pairs = read_folder(data_dir)
    images = {p.name: p.image for p in pairs}
    truth_full = {p.name: (np.asarray(p.mask) > 0).astype(np.uint8) for p in pairs}
    noisy_full, log = corrupt_dataset(truth_full, noise, seed)
    shape = working_shape([np.asarray(im).shape[:2] for im in images.values()], size)
    out_images = {n: _resize_image(np.asarray(im), shape) for n, im in images.items()}
    truth = {n: _resize_mask(m, shape) for n, m in truth_full.items()}
    noisy = {n: _resize_mask(m, shape) for n, m in noisy_full.items()}
    for row in log:
        row["dice_working"] = dice(noisy[row["name"]], truth[row["name"]])
        row["corrupted"] = bool(row["corrupted"]) and bool(
            np.any(noisy[row["name"]] != truth[row["name"]])
        )
    patients = {p.name: str(p.patient) for p in pairs}
    return BenchData(Path(data_dir).resolve().name, patients, out_images, truth, noisy, log)


def noise_summary(data: BenchData) -> dict[str, float]:
    """Mean noisy-label Dice over all images (the protocol's figure: clean ones count as 1) and
    over the corrupted images only, at the working size."""
    corrupted = [r["dice_working"] for r in data.noise_log if r["corrupted"]]
    return {
        "noise.n_corrupted": len(corrupted),
        "noise.mean_noisy_dice": float(np.mean([r["dice_working"] for r in data.noise_log])),
        "noise.mean_noisy_dice_corrupted": float(np.mean(corrupted)) if corrupted else 1.0,
    }


def build_project(data: BenchData, root: Path, truth_as_labels: bool = False):
    """The benchmark project: noisy masks as the given labels, true masks kept as truth.

    Patients come from the reader (a volume's slices share one; a 2D image is its own, as in
    the shared data, which have no patient ids). ``truth_as_labels`` gives the expert masks as
    the labels instead (the clean-training ceiling of measure 3).
    """
    from ..project import Project

    labels = data.truth if truth_as_labels else data.noisy
    return Project.create(
        root,
        data.images,
        labels,
        patients=data.patients,
        truth=data.truth,
        name=data.dataset,
        force=True,
    )
