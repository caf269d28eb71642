"""Phantoms and the sample project: determinism, clean subset, noise record, truth kept."""

import csv
import json

import numpy as np
import pytest
from scipy import ndimage as ndi

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.project import Project
from napari_noisyfix.synth.noise import dice
from napari_noisyfix.synth.phantoms import make_phantom
from napari_noisyfix.synth.sample import make_sample_project, sample_layers


@pytest.mark.parametrize("look", ["nuclei", "lesion"])
def test_phantom_is_gray_uint8_with_objects_brighter_or_darker(look):
    image, truth = make_phantom(np.random.default_rng(0), 64, look)
    assert image.shape == truth.shape == (64, 64)
    assert image.dtype == truth.dtype == np.uint8 and set(np.unique(truth)) <= {0, 1}
    assert 0.02 < truth.mean() < 0.6 and ndi.label(truth, np.ones((3, 3)))[1] >= 1
    inside, outside = image[truth == 1].mean(), image[truth == 0].mean()
    assert abs(inside - outside) > 10
    assert image.std() > 5


def test_phantom_is_deterministic_and_checks_arguments():
    a = make_phantom(np.random.default_rng(4), 48)
    b = make_phantom(np.random.default_rng(4), 48)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    with pytest.raises(NoisyFixError, match="too small"):
        make_phantom(np.random.default_rng(0), 16)
    with pytest.raises(NoisyFixError, match="unknown phantom look"):
        make_phantom(np.random.default_rng(0), 64, "bone")


def _read_log(project):
    with open(project.root / "noise_log.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_sample_project_contents(tmp_path):
    proj = make_sample_project(tmp_path / "s", n=12, size=48, seed=3, noise=0.5)
    assert len(proj.names) == 12 and proj.n_classes == 2 and proj.in_channels == 1
    assert len(set(proj.patients().values())) == 4
    assert len(proj.clean_names()) == 2
    rows = _read_log(proj)
    assert [r["name"] for r in rows] == proj.names
    for r in rows:
        noisy, truth = proj.original_mask(r["name"]), proj.truth(r["name"])
        assert float(r["dice"]) == pytest.approx(dice(noisy, truth), abs=1e-6)
        assert int(r["corrupted"]) == int(not np.array_equal(noisy, truth))
        json.loads(r["params"])
        if proj.is_clean(r["name"]):
            assert r["type"] == "none" and np.array_equal(noisy, truth)
    assert 5 <= sum(int(r["corrupted"]) for r in rows) <= 6
    event = proj.log.rows("synthetic_noise")[0]["details"]
    assert event["seed"] == 3 and event["file"] == "noise_log.csv"
    assert Project.open(proj.root, mode="read").has_truth()


def test_sample_project_is_deterministic_for_a_seed(tmp_path):
    a = make_sample_project(tmp_path / "a", n=6, size=40, seed=1)
    b = make_sample_project(tmp_path / "b", n=6, size=40, seed=1)
    c = make_sample_project(tmp_path / "c", n=6, size=40, seed=2)
    for name in a.names:
        assert np.array_equal(a.image(name), b.image(name))
        assert np.array_equal(a.original_mask(name), b.original_mask(name))
    assert a.clean_names() == b.clean_names()
    assert _read_log(a) == _read_log(b)
    assert any(not np.array_equal(a.image(n), c.image(n)) for n in a.names)


def test_sample_project_refuses_existing_folder_and_bad_arguments(tmp_path):
    make_sample_project(tmp_path / "s", n=3, size=32)
    with pytest.raises(NoisyFixError, match="exists already"):
        make_sample_project(tmp_path / "s", n=3, size=32)
    assert len(make_sample_project(tmp_path / "s", n=4, size=32, force=True).names) == 4
    with pytest.raises(NoisyFixError, match="--noise"):
        make_sample_project(tmp_path / "t", noise=2.0)
    with pytest.raises(NoisyFixError, match="--size"):
        make_sample_project(tmp_path / "t", size=8)
    assert not (tmp_path / "t").exists()


def test_sample_layers_shapes():
    images, noisy, truth = sample_layers(n=3, size=40)
    assert images.shape == noisy.shape == truth.shape == (3, 40, 40)
    assert images.dtype == np.uint8 and set(np.unique(noisy)) <= {0, 1}
    assert any(not np.array_equal(noisy[i], truth[i]) for i in range(3))
