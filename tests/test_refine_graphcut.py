"""Graph cuts: normalized cut splits touching blobs along the weak edge; min cut finds an object."""

import numpy as np
import pytest

from napari_noisyfix.refine import min_cut, ncut_labels, segment
from napari_noisyfix.refine._arrays import check_image

YY, XX = np.mgrid[:64, :64]
A = np.hypot(YY - 32, XX - 22) < 12
B = (np.hypot(YY - 32, XX - 42) < 12) & ~A


def blobs(seed):
    """Two touching blobs (0.9 and 0.6 on 0.1): the edge between them is the weakest."""
    rng = np.random.default_rng(seed)
    return 0.1 + 0.8 * A + 0.5 * B + rng.normal(0, 0.03, A.shape)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_normalized_cut_splits_touching_blobs_along_the_weak_edge(seed):
    labels = ncut_labels(check_image(blobs(seed), "t"))
    assert labels[32, 22] != labels[32, 44]
    out = segment("normalized_cut", blobs(seed), point=(32, 20))
    assert (out & A).sum() > 0.95 * A.sum() and (out & ~A).sum() < 0.05 * A.sum()


def test_min_cut_follows_the_object_outline():
    img = check_image(blobs(0), "t")
    out = min_cut(img, (32, 22))
    fg = A | B
    assert 2 * (out & fg).sum() / (out.sum() + fg.sum()) > 0.97


def test_min_cut_with_data_term_and_box():
    img = blobs(0)
    out = segment("min_cut", img, point=(32, 22), box=(10, 5, 54, 60), data_weight=50.0)
    assert out[A].mean() > 0.97 and not out[:10].any()


def test_min_cut_seed_outside_the_box_gives_nothing():
    assert not segment("min_cut", blobs(0), point=(2, 2), box=(10, 10, 50, 50)).any()
