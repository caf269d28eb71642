"""Patient-level splits: K folds and train/validation/test parts in which no patient spans two parts.

A project of one patient only (one volume, or images all of one patient) cannot be split by
patient; its folds are runs of consecutive images instead (:func:`patient_folds` warns with
:class:`SliceSplitWarning`).

Patients are assigned greedily: in order of decreasing mean foreground fraction (so each part gets
a spread of foreground, i.e. a stratified split), each patient goes to the part furthest below its
target number of images; ties are broken with the seeded random generator. The same inputs and seed
always give the same split.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from .errors import NoisyFixError


class SliceSplitWarning(UserWarning):
    """Folds were split by image within one patient: neighbouring slices may leak across folds."""


def _as_map(values, names: list[str], what: str) -> dict:
    if values is None:
        return {}
    if isinstance(values, Mapping):
        missing = [n for n in names if n not in values]
        if missing:
            raise NoisyFixError(f"{missing[0]}: no {what} given for this image")
        return {n: values[n] for n in names}
    values = list(values)
    if len(values) != len(names):
        raise NoisyFixError(f"{len(values)} {what} values given for {len(names)} images")
    return dict(zip(names, values, strict=True))


def _groups(names, patients, fg, rng: np.random.Generator) -> tuple[list[str], dict]:
    """Patients in assignment order (decreasing foreground, random among equals) and their images."""
    names = list(names)
    if len(set(names)) != len(names):
        raise NoisyFixError("image names are not unique")
    pmap = _as_map(patients, names, "patient") or {n: n for n in names}
    fmap = _as_map(fg, names, "foreground fraction")
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(str(pmap[n]), []).append(n)
    mean_fg = {p: float(np.mean([fmap.get(n, 0.0) for n in g])) for p, g in groups.items()}
    shuffled = [str(p) for p in rng.permutation(sorted(groups))]
    return sorted(shuffled, key=lambda p: -mean_fg[p]), groups


def _assign(
    order: list[str], groups: dict[str, list[str]], targets: np.ndarray, rng: np.random.Generator
) -> list[list[str]]:
    """Greedy assignment of patients (in ``order``) to the part with the largest deficit."""
    total = sum(len(g) for g in groups.values())
    goal = targets / targets.sum() * total
    counts = np.zeros(len(targets))
    parts: list[list[str]] = [[] for _ in targets]
    for i, patient in enumerate(order):
        empty = [j for j in range(len(parts)) if not parts[j] and targets[j] > 0]
        if empty and len(order) - i <= len(empty):
            candidates = empty
        else:
            deficit = goal - counts
            candidates = np.flatnonzero(np.isclose(deficit, deficit.max())).tolist()
        j = int(candidates[int(rng.integers(len(candidates)))])
        parts[j].extend(groups[patient])
        counts[j] += len(groups[patient])
    return [sorted(p) for p in parts]


def patient_folds(
    names: Sequence[str],
    patients: Mapping[str, str] | Sequence[str] | None,
    k: int,
    seed: int = 0,
    fg: Mapping[str, float] | Sequence[float] | None = None,
) -> list[list[str]]:
    """Split images into ``k`` folds with every patient in exactly one fold.

    When every image belongs to one patient (a single volume, say) the folds are ``k`` runs of
    consecutive images in name order instead (volume slices ``vol_z000``, ``vol_z001``... stay
    together), with a :class:`SliceSplitWarning`: slices at the edge of a run have neighbours,
    nearly alike, in the other folds, so out-of-fold scores may be a little optimistic.

    Parameters
    ----------
    names : sequence of str
        Image names.
    patients : mapping or sequence, optional
        Patient id per image (by name, or aligned with ``names``); None: each image its own patient.
    k : int
        Number of folds, 2 or more and at most the number of patients (of images, for a project
        of one patient).
    seed : int
        Breaks ties; the same seed gives the same folds.
    fg : mapping or sequence, optional
        Foreground fraction per image, to balance the folds by it.

    Returns
    -------
    list of list of str
        ``k`` non-empty folds of sorted image names.
    """
    if k < 2:
        raise NoisyFixError(f"{k} folds requested: cross-validation needs at least 2")
    pmap = _as_map(patients, list(names), "patient")
    if len(set(pmap.values()) if pmap else names) == 1:
        if k > len(names):
            raise NoisyFixError(
                f"{k} folds requested but there are only {len(names)} images, all of one "
                f"patient; use at most {len(names)} folds"
                if len(names) > 1
                else "only 1 image: cross-validation needs at least 2"
            )
        patients = _runs(names, k)
        warnings.warn(SliceSplitWarning(_leak_text(len(names), k)), stacklevel=2)
    rng = np.random.default_rng(seed)
    order, groups = _groups(names, patients, fg, rng)
    if k > len(groups):
        raise NoisyFixError(
            f"{k} folds requested but there are only {len(groups)} patients; "
            f"use at most {len(groups)} folds"
        )
    return _assign(order, groups, np.ones(k), rng)


def _runs(names: Sequence[str], k: int) -> dict[str, str]:
    """``k`` groups of consecutive names (sorted), as equal in size as they can be."""
    ordered = sorted(names)
    return {n: f"run{i * k // len(ordered)}" for i, n in enumerate(ordered)}


def _leak_text(n: int, k: int) -> str:
    return (
        f"all {n} images belong to one patient, so the {k} folds are runs of consecutive "
        "images (slices) instead of patients; neighbouring slices at the edges of a run look "
        "alike, so out-of-fold scores may be optimistic (give patient ids with --patients "
        "when the images come from several patients)"
    )


def train_val_test_split(
    names: Sequence[str],
    patients: Mapping[str, str] | Sequence[str] | None,
    val: float = 0.15,
    test: float = 0.15,
    seed: int = 0,
    fg: Mapping[str, float] | Sequence[float] | None = None,
) -> tuple[list[str], list[str], list[str]]:
    """Split images into train, validation and test parts at the patient level.

    Parameters
    ----------
    names, patients, seed, fg
        As in :func:`patient_folds`.
    val, test : float
        Target shares of images (0 leaves that part empty); their sum must stay below 1.

    Returns
    -------
    train, val, test : list of str
        Sorted image names; each non-zero part holds at least one patient.
    """
    if val < 0 or test < 0 or val + test >= 1:
        raise NoisyFixError(f"val={val}, test={test}: shares must be >= 0 and sum to less than 1")
    rng = np.random.default_rng(seed)
    order, groups = _groups(names, patients, fg, rng)
    targets = np.array([1.0 - val - test, val, test])
    needed = int((targets > 0).sum())
    if len(groups) < needed:
        raise NoisyFixError(
            f"{len(groups)} patients cannot fill {needed} parts (train/val/test); "
            "add patients or set a share to 0"
        )
    train, val_part, test_part = _assign(order, groups, targets, rng)
    return train, val_part, test_part
