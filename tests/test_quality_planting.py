"""Errors planted for the calibration: every type, sizes relative to the objects, classes kept."""

import dataclasses

import numpy as np

from napari_noisyfix.quality.params import PARAMS
from napari_noisyfix.quality.planting import PLANT_KINDS, plant
from napari_noisyfix.quality.synthetic import disk_mask

CENTRES = [(12, 12), (12, 40), (30, 12), (30, 40), (52, 20), (52, 33)]


def _mask():
    """Six nuclei, the last two close enough to be merged."""
    return disk_mask((64, 64), CENTRES, [6, 7, 5, 6, 5, 5])


def test_a_plant_changes_the_mask_and_names_its_type():
    mask = _mask()
    for seed in range(10):
        planted, kind = plant(mask, np.random.default_rng(seed))
        assert kind in PLANT_KINDS
        assert planted.shape == mask.shape and planted.dtype == mask.dtype
        assert np.any(planted != mask) and set(np.unique(planted)) <= {0, 1}
    assert np.array_equal(mask, _mask())  # the input is not touched


def test_planting_covers_the_whole_catalogue_and_is_repeatable():
    mask = _mask()
    kinds = {plant(mask, np.random.default_rng(seed))[1] for seed in range(150)}
    assert kinds - {None} == set(PLANT_KINDS)  # None: a fine-scale plant lost in sampling back
    a, b = plant(mask, np.random.default_rng(7)), plant(mask, np.random.default_rng(7))
    assert a[1] == b[1] and np.array_equal(a[0], b[0])


def test_an_empty_mask_gets_no_plant():
    empty = np.zeros((32, 32), np.uint8)
    planted, kind = plant(empty, np.random.default_rng(0))
    assert kind is None and np.array_equal(planted, empty)


def test_classes_are_kept_and_added_pixels_take_the_nearest_class():
    mask = _mask()
    mask[:, 32:] *= 2  # right half class 2
    for seed in range(30):
        planted, kind = plant(mask, np.random.default_rng(seed))
        assert set(np.unique(planted)) <= {0, 1, 2}
        kept = (planted > 0) & (mask > 0)
        assert np.array_equal(planted[kept], mask[kept]) or kind == "affine"


def test_the_parameters_passed_set_the_planted_sizes():
    """The caller's parameters rule the planting, not the module's defaults: a boundary process
    drawn on a mask four times finer moves fewer pixels, and a planted misalignment of at most 1%
    of the image side moves fewer than one of up to 20%."""

    def changed(kind, **fields):
        params = dataclasses.replace(PARAMS.calibration, **fields)
        sizes = []
        for seed in range(150):
            planted, drawn = plant(_mask(), np.random.default_rng(seed), params)
            if drawn == kind:
                sizes.append(np.count_nonzero(planted != _mask()))
        assert sizes, kind
        return np.mean(sizes)

    assert changed("markov", scales=(4,)) < 0.5 * changed("markov", scales=(1,))
    assert changed("affine", max_shift=0.01) < 0.5 * changed("affine", max_shift=0.2)
