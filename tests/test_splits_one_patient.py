"""A project of one patient (one volume) is split into runs of consecutive slices, with a warning."""

import warnings

import pytest

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.splits import SliceSplitWarning, patient_folds

SLICES = [f"vol_z{z:03d}" for z in range(10)]


def test_one_volume_gives_runs_of_consecutive_slices_and_warns():
    with pytest.warns(SliceSplitWarning, match="one patient.*consecutive.*optimistic"):
        folds = patient_folds(SLICES, dict.fromkeys(SLICES, "vol"), 3, seed=1)
    assert sorted(folds) == [SLICES[:4], SLICES[4:7], SLICES[7:]]
    assert all(f == sorted(f) for f in folds)


def test_runs_follow_name_order_whatever_the_input_order_and_seed():
    shuffled = SLICES[::-1]
    with pytest.warns(SliceSplitWarning):
        a = patient_folds(shuffled, ["P"] * len(shuffled), 2, seed=0)
    with pytest.warns(SliceSplitWarning):
        b = patient_folds(SLICES, ["P"] * len(SLICES), 2, seed=7)
    assert sorted(a) == sorted(b) == [SLICES[:5], SLICES[5:]]


def test_fold_counts_are_consistent_for_one_patient():
    one = dict.fromkeys(SLICES[:3], "P")
    with pytest.raises(NoisyFixError, match="at least 2"):
        patient_folds(SLICES[:3], one, 1)
    with pytest.raises(NoisyFixError, match="only 3 images, all of one patient; use at most 3"):
        patient_folds(SLICES[:3], one, 4)
    with pytest.raises(NoisyFixError, match="only 1 image"):
        patient_folds(["a"], None, 2)
    with pytest.warns(SliceSplitWarning):
        assert len(patient_folds(SLICES[:3], one, 3)) == 3


def test_two_patients_keep_patient_folds_without_warning():
    patients = {n: ("A" if i % 2 else "B") for i, n in enumerate(SLICES)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        folds = patient_folds(SLICES, patients, 2)
    assert sorted(len({patients[n] for n in f}) for f in folds) == [1, 1]
