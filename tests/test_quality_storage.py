"""Maps and regions survive a round trip to disk; damaged files give clear errors."""

import numpy as np
import pytest

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.quality.regions import find_regions
from napari_noisyfix.quality.storage import (
    read_maps,
    read_npz,
    regions_arrays,
    regions_from_arrays,
    write_maps,
    write_npz,
)
from napari_noisyfix.quality.synthetic import disk_mask, probs_from_mask


def test_regions_round_trip(tmp_path):
    truth = disk_mask((40, 40), [(10, 10), (28, 28)], [5, 6])
    given = truth.copy()
    given[truth == 1] = 0
    given[disk_mask((40, 40), [(28, 28)], [6]) > 0] = 1
    regions = find_regions("a", probs_from_mask(truth), given)
    write_npz(tmp_path / "r.npz", regions_arrays(regions))
    back = regions_from_arrays(read_npz(tmp_path / "r.npz"), "r.npz")
    assert [r.to_row() for r in back] == [r.to_row() for r in regions]
    assert all(
        np.array_equal(a.region, b.region) and np.array_equal(a.proposal, b.proposal)
        for a, b in zip(back, regions, strict=True)
    )


def test_maps_stored_as_float16(tmp_path):
    maps = {"error_score": np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)}
    write_maps(tmp_path / "m.npz", maps)
    with np.load(tmp_path / "m.npz") as raw:
        assert raw["error_score"].dtype == np.float16
    back = read_maps(tmp_path / "m.npz")
    assert back["error_score"].dtype == np.float32
    assert np.allclose(back["error_score"], maps["error_score"], atol=1e-3)
    assert not list(tmp_path.glob(".*tmp"))


def test_damaged_files_raise(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not an archive")
    with pytest.raises(NoisyFixError, match="bad.npz"):
        read_npz(tmp_path / "bad.npz")
    with pytest.raises(NoisyFixError, match="not found"):
        read_npz(tmp_path / "missing.npz")
    with pytest.raises(NoisyFixError, match="damaged"):
        regions_from_arrays({"meta": np.array('[{"id": "x"}]')}, "x.npz")
    truth = disk_mask((40, 40), [(20, 20)], [6])
    arrays = regions_arrays(find_regions("a", probs_from_mask(truth), np.zeros_like(truth)))
    arrays["regions"] = arrays["regions"][:-1]
    with pytest.raises(NoisyFixError, match="a.npz: damaged region archive"):
        regions_from_arrays(arrays, "a.npz")
