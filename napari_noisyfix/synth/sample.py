"""The sample project: synthetic images, noisy masks made with the benchmark protocol, truth kept.

Images come in groups of :data:`IMAGES_PER_PATIENT` per patient (one look per patient: nuclei or
lesions); about :data:`CLEAN_SHARE` of the images are flagged clean and never corrupted; a fraction
``noise`` of all images is corrupted with :func:`~napari_noisyfix.synth.noise.corrupt_dataset`.
The noise record is written to ``noise_log.csv`` in the project folder and to the audit log.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import numpy as np

from .._atomic import atomic_write_text
from ..errors import NoisyFixError
from ..project import Project
from .noise import corrupt_dataset
from .phantoms import LOOKS, make_phantom

IMAGES_PER_PATIENT = 3
CLEAN_SHARE = 0.15
NOISE_LOG = "noise_log.csv"


def _patient_of(i: int) -> str:
    return f"p{i // IMAGES_PER_PATIENT + 1:02d}"


def _phantoms(n: int, size: int, seed: int) -> tuple[dict, dict, dict]:
    """Images, truths and patients by name; one look per patient, one random stream per image."""
    streams = np.random.SeedSequence([seed, 1]).spawn(n)
    look_rng = np.random.default_rng([seed, 2])
    looks = {}
    images, truths, patients = {}, {}, {}
    for i, stream in enumerate(streams):
        patient = _patient_of(i)
        if patient not in looks:
            looks[patient] = LOOKS[int(look_rng.random() < 1 / 3)]
        name = f"{patient}_img{i % IMAGES_PER_PATIENT}"
        images[name], truths[name] = make_phantom(
            np.random.default_rng(stream), size, looks[patient]
        )
        patients[name] = patient
    return images, truths, patients


def _clean_subset(names: list[str], seed: int) -> set[str]:
    k = max(1, int(round(CLEAN_SHARE * len(names))))
    rng = np.random.default_rng([seed, 3])
    return set(rng.choice(names, size=min(k, len(names)), replace=False).tolist())


def noise_log_csv(log: list[dict]) -> str:
    """The noise record as CSV text: name, corrupted, type, params (JSON), dice."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["name", "corrupted", "type", "params", "dice"])
    for row in log:
        writer.writerow(
            [
                row["name"],
                int(row["corrupted"]),
                row["type"],
                json.dumps(row["params"]),
                f"{row['dice']:.6f}",
            ]
        )
    return buf.getvalue()


def _check_args(n: int, size: int, noise: float) -> None:
    if n < 2:
        raise NoisyFixError(f"--n {n}: a sample project needs at least 2 images")
    if not 32 <= size <= 4096:
        raise NoisyFixError(f"--size {size}: choose a side between 32 and 4096 pixels")
    if not 0.0 <= noise <= 1.0:
        raise NoisyFixError(f"--noise {noise}: the corrupted fraction must be in [0, 1]")


def make_sample_project(
    dir: str | os.PathLike,  # noqa: A002 (the name the contract gives)
    n: int = 24,
    size: int = 256,
    seed: int = 0,
    noise: float = 0.5,
    force: bool = False,
) -> Project:
    """Write a ready sample project of synthetic images with noisy masks and true masks.

    Parameters
    ----------
    dir : path
        Project folder to create (must not exist unless ``force``).
    n : int
        Number of images.
    size : int
        Side of the square images in pixels.
    seed : int
        Fixes images, clean subset and noise: the same seed gives the same project.
    noise : float
        Fraction of all images whose masks are corrupted (clean images never are).
    force : bool
        Replace an existing folder.

    Returns
    -------
    Project
        The opened project; ``truth/`` holds the true masks, ``noise_log.csv`` the noise record.
    """
    _check_args(n, size, noise)
    images, truths, patients = _phantoms(n, size, seed)
    clean = _clean_subset(sorted(images), seed)
    noisy, log = corrupt_dataset(truths, noise, seed=seed, protect=clean)
    project = Project.create(
        Path(dir),
        images,
        noisy,
        patients=patients,
        clean=clean,
        truth=truths,
        name="noisyfix sample",
        force=force,
    )
    atomic_write_text(project.root / NOISE_LOG, noise_log_csv(log))
    corrupted = [r for r in log if r["corrupted"]]
    project.log.record(
        "synthetic_noise",
        details={
            "seed": seed,
            "fraction": noise,
            "n_corrupted": len(corrupted),
            "mean_dice_corrupted": float(np.mean([r["dice"] for r in corrupted]))
            if corrupted
            else 1.0,
            "file": NOISE_LOG,
        },
    )
    return project


def sample_layers(
    n: int = 4, size: int = 128, seed: int = 0, noise: float = 0.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A small in-memory sample for napari's sample-data menu.

    Returns
    -------
    images, noisy, truth : ndarray
        Stacks of shape (n, size, size): uint8 images, uint8 0/1 noisy masks and true masks.
    """
    _check_args(n, size, noise)
    images, truths, _ = _phantoms(n, size, seed)
    noisy, _ = corrupt_dataset(truths, noise, seed=seed)
    names = sorted(images)
    return (
        np.stack([images[k] for k in names]),
        np.stack([noisy[k] for k in names]),
        np.stack([truths[k] for k in names]),
    )
