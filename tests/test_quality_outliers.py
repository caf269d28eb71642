"""Clustering flags an object planted among regular ones."""

import numpy as np
import pytest

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.quality.outliers import describe_objects, find_outliers
from napari_noisyfix.quality.synthetic import disk_mask, probs_from_mask

GRID = [(r, c) for r in (8, 24, 40, 56) for c in (8, 24, 40, 56)]


def _image(seed, odd=False):
    rng = np.random.default_rng(seed)
    mask = disk_mask((64, 64), GRID, rng.integers(4, 6, len(GRID)))
    if odd:
        mask[14:34, 14:18] = 0  # clear room for a long thin bar between two rows
        mask[16:32, 15:17] = 1
    image = mask * 100.0 + rng.normal(0, 5, mask.shape)
    return mask, image


def _tables(with_probs=True):
    out = []
    for seed in range(5):
        mask, image = _image(seed, odd=seed == 3)
        probs = probs_from_mask(mask) if with_probs else None
        out.append(describe_objects(f"im{seed}", mask, image=image, probs=probs))
    return out


@pytest.mark.parametrize("method", ["kmeans", "dbscan"])
def test_planted_outlier_is_flagged(method):
    tables = _tables()
    regions = find_outliers(tables, method=method)
    assert regions, "nothing flagged"
    top = regions[0]
    assert top.image == "im3" and top.kind == "outlier" and top.cls == 1
    assert top.bbox[0] <= 20 and top.bbox[2] >= 28 and top.area <= 40
    assert "cluster" in top.reason and 0.5 <= top.score <= 1
    assert len(regions) <= 4


def test_descriptor_columns_and_features():
    mask, image = _image(0)
    feats = np.stack([mask * 2.0, np.ones(mask.shape)])
    t = describe_objects("a", mask, image=image, probs=probs_from_mask(mask), features=feats)
    assert t.X.shape == (16, len(t.columns))
    assert t.columns[-2:] == ["feature_0", "feature_1"] and np.allclose(t.X[:, -2:], [2.0, 1.0])
    assert "p_given_mean" in t.columns and "intensity_mean" in t.columns


def test_shape_descriptors_match_geometry():
    mask = disk_mask((64, 64), [(16, 16)], [6])
    mask[50:53, 5:40] = 1
    t = describe_objects("g", mask)
    ecc, extent = t.columns.index("eccentricity"), t.columns.index("extent")
    assert t.X[0, ecc] < 0.05 and t.X[1, ecc] > 0.99
    assert t.X[1, extent] == 1.0 and 0.6 < t.X[0, extent] < 0.8
    assert np.exp(t.X[:, 0]) == pytest.approx([113, 105])


def test_mismatched_inputs_raise():
    mask, image = _image(0)
    with pytest.raises(NoisyFixError, match="a: image"):
        describe_objects("a", mask, image=image[:10])
    tables = _tables(with_probs=False)
    tables[0] = describe_objects("x", *_image(0), probs=probs_from_mask(_image(0)[0]))
    with pytest.raises(NoisyFixError, match="descriptors"):
        find_outliers(tables)
    with pytest.raises(NoisyFixError, match="method"):
        find_outliers(_tables(), method="spectral")


def test_too_few_objects_gives_nothing():
    mask = disk_mask((32, 32), [(16, 16)], [5])
    assert find_outliers([describe_objects("one", mask)]) == []
