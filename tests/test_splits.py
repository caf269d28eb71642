"""Patient-level folds and splits: properties checked over many random inputs and seeds."""

import numpy as np
import pytest

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.splits import patient_folds, train_val_test_split


def _random_set(seed):
    rng = np.random.default_rng(seed)
    n_patients = int(rng.integers(3, 15))
    names, patients, fg = [], {}, {}
    for p in range(n_patients):
        for i in range(int(rng.integers(1, 6))):
            name = f"p{p}_i{i}"
            names.append(name)
            patients[name] = f"P{p}"
            fg[name] = float(rng.uniform(0, 0.6))
    return names, patients, fg


def _patient_parts(parts, patients):
    owner = {}
    for j, part in enumerate(parts):
        for name in part:
            owner.setdefault(patients[name], set()).add(j)
    return owner


@pytest.mark.parametrize("seed", range(40))
def test_folds_cover_every_image_once_and_never_split_patients(seed):
    names, patients, fg = _random_set(seed)
    n_patients = len(set(patients.values()))
    k = int(np.random.default_rng(seed + 100).integers(2, n_patients + 1))
    folds = patient_folds(names, patients, k, seed=seed, fg=fg)
    flat = [n for f in folds for n in f]
    assert len(folds) == k and all(folds)
    assert sorted(flat) == sorted(names) and len(flat) == len(set(flat))
    assert all(len(parts) == 1 for parts in _patient_parts(folds, patients).values())


@pytest.mark.parametrize("seed", range(40))
def test_train_val_test_parts_are_disjoint_by_patient(seed):
    names, patients, fg = _random_set(seed)
    parts = train_val_test_split(names, patients, val=0.2, test=0.2, seed=seed, fg=fg)
    flat = [n for p in parts for n in p]
    assert sorted(flat) == sorted(names) and len(flat) == len(set(flat))
    assert all(parts)
    assert all(len(p) == 1 for p in _patient_parts(parts, patients).values())


def test_deterministic_for_a_seed_and_varies_with_it():
    names, patients, fg = _random_set(3)
    a = patient_folds(names, patients, 3, seed=5, fg=fg)
    assert a == patient_folds(names, patients, 3, seed=5, fg=fg)
    others = {str(patient_folds(names, patients, 3, seed=s, fg=fg)) for s in range(10)}
    assert len(others) > 1
    assert train_val_test_split(names, patients, seed=1) == train_val_test_split(
        names, patients, seed=1
    )


def test_folds_are_balanced_in_size_and_foreground():
    names = [f"im{i}" for i in range(60)]
    fg = {n: i / 60 for i, n in enumerate(names)}
    folds = patient_folds(names, None, 5, seed=0, fg=fg)
    assert [len(f) for f in folds] == [12] * 5
    means = [np.mean([fg[n] for n in f]) for f in folds]
    assert max(means) - min(means) < 0.05


def test_split_sizes_follow_the_shares():
    names = [f"im{i}" for i in range(100)]
    train, val, test = train_val_test_split(names, None, val=0.15, test=0.15)
    assert (len(train), len(val), len(test)) == (70, 15, 15)


def test_patients_may_be_given_as_a_sequence_and_default_to_one_per_image():
    names = ["a", "b", "c", "d"]
    folds = patient_folds(names, ["x", "x", "y", "y"], 2)
    assert sorted(map(tuple, folds)) == [("a", "b"), ("c", "d")]
    assert sorted(len(f) for f in patient_folds(names, None, 4)) == [1, 1, 1, 1]


def test_clear_errors():
    names = ["a", "b", "c"]
    with pytest.raises(NoisyFixError, match="only 2 patients; use at most 2 folds"):
        patient_folds(names, {"a": "p", "b": "p", "c": "q"}, 3)
    with pytest.raises(NoisyFixError, match="at least 2"):
        patient_folds(names, None, 1)
    with pytest.raises(NoisyFixError, match="c: no patient"):
        patient_folds(names, {"a": "p", "b": "q"}, 2)
    with pytest.raises(NoisyFixError, match="cannot fill 3 parts"):
        train_val_test_split(names, {"a": "p", "b": "p", "c": "q"})
    with pytest.raises(NoisyFixError, match="sum to less than 1"):
        train_val_test_split(names, None, val=0.5, test=0.5)
    assert train_val_test_split(names, {"a": "p", "b": "p", "c": "q"}, val=0.3, test=0)[2] == []
