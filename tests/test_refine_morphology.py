"""Morphology tools restore a disk corrupted by salt-and-pepper holes and specks."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_noisyfix.refine import refine
from napari_noisyfix.refine.morphology import closing, opening

YY, XX = np.mgrid[:64, :64]
DISK = np.hypot(YY - 32, XX - 30) < 18
IMAGE = DISK.astype(np.float32)


def dice(a, b):
    return 2 * (a & b).sum() / (a.sum() + b.sum())


def noisy_disk(seed=0, rate=0.04):
    rng = np.random.default_rng(seed)
    flip = rng.random(DISK.shape) < rate
    return DISK ^ flip


def test_clean_restores_a_noisy_disk():
    noisy = noisy_disk()
    assert dice(noisy, DISK) < 0.96
    out = refine("clean", IMAGE, noisy)
    assert dice(out, DISK) > 0.98


def test_small_objects_and_holes_in_pixels_and_fractions():
    noisy = noisy_disk(1)
    no_specks = refine("remove_small_objects", IMAGE, noisy, size=4.0)
    away = ~ndi.binary_dilation(DISK, iterations=2)
    assert (noisy & away).sum() > 50 and not (no_specks & away).any()
    assert (no_specks & DISK).sum() == (noisy & DISK).sum()
    as_fraction = refine("remove_small_objects", IMAGE, noisy, size=4 / 64**2, unit="fraction")
    np.testing.assert_array_equal(no_specks, as_fraction)
    filled = refine("remove_small_holes", IMAGE, no_specks, size=8.0)
    inner = ndi.binary_erosion(DISK, iterations=2)
    assert (~no_specks & inner).sum() > 20 and filled[inner].all()


def test_remove_small_holes_keeps_large_holes():
    ring = DISK & (np.hypot(YY - 32, XX - 30) >= 6)
    assert (refine("remove_small_holes", IMAGE, ring, size=50.0) == ring).all()
    assert (refine("remove_small_holes", IMAGE, ring, size=200.0) == DISK).all()
    assert (refine("fill_holes", IMAGE, ring) == DISK).all()


def test_opening_removes_specks_and_closing_fills_pinholes():
    specks = DISK.copy()
    specks[2, 2] = specks[60, 5] = True
    assert (opening(specks, 1) == DISK).all()
    holes = DISK.copy()
    holes[30, 30] = holes[25, 28] = False
    assert (closing(holes, 1) == DISK).all()


@pytest.mark.parametrize("name", ["opening", "closing"])
def test_radius_zero_is_identity_and_border_objects_survive(name):
    half = XX < 20
    assert (refine(name, IMAGE, half, radius=0) == half).all()
    assert (refine(name, IMAGE, half, radius=3) == half).all()
