"""The npe2 manifest: valid by npe2's own checks, every command resolves, and the hooks work."""

import numpy as np
import pytest
from npe2 import PluginManifest
from npe2.manifest.utils import import_python_name

from napari_noisyfix import _napari_hooks as hooks
from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.io import read_mask
from napari_noisyfix.project import Project


@pytest.fixture(scope="module")
def manifest():
    return PluginManifest.from_distribution("napari-noisyfix")


def test_manifest_valid_and_imports_resolve(manifest):
    manifest.validate_imports()  # what `npe2 validate napari-noisyfix --imports` runs
    assert manifest.name == "napari-noisyfix"
    commands = manifest.contributions.commands
    assert {c.id for c in commands} == {
        "napari-noisyfix.review_widget",
        "napari-noisyfix.open_project",
        "napari-noisyfix.new_project_from_layers",
        "napari-noisyfix.sample",
        "napari-noisyfix.get_reader",
        "napari-noisyfix.write_labels",
    }
    for command in commands:
        assert callable(import_python_name(command.python_name))


def test_contributions_point_at_known_commands(manifest):
    ids = {c.id for c in manifest.contributions.commands}
    c = manifest.contributions
    used = [w.command for w in c.widgets] + [s.command for s in c.sample_data]
    used += [r.command for r in c.readers] + [w.command for w in c.writers]
    assert set(used) <= ids and len(used) == 4
    assert c.readers[0].accepts_directories
    assert {"*.nii", "*.nii.gz", "*.dcm"} <= set(c.readers[0].filename_patterns)
    assert "labels" in c.writers[0].layer_types[0]


def test_menus_in_napari_contributable_places(manifest):
    ids = {c.id for c in manifest.contributions.commands}
    menus = {
        key: [item.command for item in items] for key, items in manifest.contributions.menus.items()
    }
    # napari's contributable menus (NAP-6): File > IO Utilities and Layers > Annotate
    assert menus == {
        "napari/file/io_utilities": ["napari-noisyfix.open_project"],
        "napari/layers/annotate": [
            "napari-noisyfix.review_widget",
            "napari-noisyfix.new_project_from_layers",
        ],
    }
    assert {c for items in menus.values() for c in items} <= ids


def test_reader_claims_extension_less_dicom_and_series_folders(tmp_path):
    from io_samples import dicom_series, gray, save_dicom

    volume = np.stack([gray(6, 7, seed=s, dtype=np.uint16) for s in range(2)])
    folder = dicom_series(tmp_path / "series", volume)
    assert hooks.get_reader(str(folder)) is hooks.read_medical
    ((data, meta, kind),) = hooks.read_medical(str(folder))
    assert kind == "image" and np.array_equal(data, volume) and meta["metadata"]["volume"]
    single = save_dicom(tmp_path / "1.2.840.5", volume[0], instance=1, z=0.0)
    assert hooks.get_reader(str(single)) is hooks.read_medical


def test_sample_data_layers():
    layers = hooks.sample_data()
    assert [t for *_, t in layers] == ["image", "labels", "labels"]
    images, noisy, truth = (d for d, *_ in layers)
    assert images.shape == noisy.shape == truth.shape == (4, 128, 128)
    assert set(np.unique(noisy)) <= {0, 1} and not np.array_equal(noisy, truth)


def test_reader_opens_project_and_refuses_others(tmp_path):
    images = {"a": np.zeros((8, 10), np.uint8), "b": np.ones((6, 6), np.uint8)}
    masks = {"a": np.eye(8, 10, dtype=np.uint8), "b": np.ones((6, 6), np.uint8)}
    project = Project.create(tmp_path / "p", images, masks)
    reader = hooks.get_reader(str(project.root))
    assert reader is hooks.read_project
    (img, img_meta, kind), (mask, _, mask_kind) = reader(str(project.root))
    assert (kind, mask_kind) == ("image", "labels")
    assert img.shape == mask.shape == (2, 8, 10)
    assert np.array_equal(mask[0], masks["a"]) and mask[1, :6, :6].all() and not mask[1, 6:].any()
    assert img_meta["metadata"]["names"] == ["a", "b"]
    (tmp_path / "notes.txt").write_text("x")
    assert hooks.get_reader(str(tmp_path / "notes.txt")) is None
    assert hooks.get_reader(str(tmp_path)) is None
    assert hooks.get_reader([str(project.root), str(project.root)]) is None


def test_reader_nifti_mask_and_writer_roundtrip(tmp_path):
    mask = np.zeros((3, 12, 12), np.uint8)
    mask[1, 2:6, 3:9] = 2
    out = hooks.write_labels(str(tmp_path / "case_mask.nii.gz"), mask.astype(np.int32), {})
    assert out == [str(tmp_path / "case_mask.nii.gz")]
    assert hooks.get_reader(out[0]) is hooks.read_medical
    ((data, meta, kind),) = hooks.read_medical(out[0])
    assert kind == "labels" and np.array_equal(data, mask)
    png = hooks.write_labels(str(tmp_path / "m.png"), mask[1], {})
    assert np.array_equal(read_mask(png[0]), mask[1])


def test_writer_refuses_bad_labels(tmp_path):
    with pytest.raises(NoisyFixError, match="m.png"):
        hooks.write_labels(str(tmp_path / "m.png"), np.full((4, 4), 300), {})
    with pytest.raises(NoisyFixError, match="PNG"):
        hooks.write_labels(str(tmp_path / "v.png"), np.zeros((2, 4, 4)), {})
