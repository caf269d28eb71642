"""napari's own ``viewer.open`` reaches the plugin's reader: projects, NIfTI, DICOM files and series.

``viewer.open(path)`` without ``plugin`` is napari's built-in reader by definition (napari >= 0.5),
so these tests open with ``plugin=None``, which is what File > Open, drag and drop and ``napari PATH``
do: napari picks the one reader that claims the path, or the reader the user chose for it before
(stored in ``settings.plugins.extension2reader``; patched here in memory, never saved).
"""

import os

import npe2
import numpy as np
import pytest
from io_samples import dicom_series, gray, save_dicom, save_nifti, save_png

from napari_noisyfix import _napari_hooks as hooks
from napari_noisyfix.io import read_image
from napari_noisyfix.project import Project

PLUGIN = "napari-noisyfix"


def readers_for(path) -> set[str]:
    """Plugins whose manifest claims ``path`` (what napari chooses among)."""
    return {r.plugin_name for r in npe2.PluginManager.instance().iter_compatible_readers([path])}


@pytest.fixture
def prefer(monkeypatch):
    """Remember "open with NoisyFix" for a pattern, as napari's reader dialog does when ticked."""
    from napari.settings import get_settings

    choices = get_settings().plugins.extension2reader
    return lambda pattern: monkeypatch.setitem(choices, pattern, PLUGIN)


def folder_pattern(folder) -> str:
    """The pattern napari's reader dialog remembers for one folder."""
    return os.path.realpath(folder) + os.sep


def test_a_project_folder_opens_as_our_layers(make_napari_viewer, tmp_path, prefer):
    images = {"a": gray(16, 20, seed=1), "b": gray(16, 20, seed=2)}
    masks = {n: np.eye(16, 20, dtype=np.uint8) for n in images}
    root = Project.create(tmp_path / "proj", images, masks).root
    viewer = make_napari_viewer()  # (registers the plugins' readers)
    assert readers_for(str(root)) >= {"napari", PLUGIN}  # both take folders: a choice is needed
    prefer(folder_pattern(root))
    layers = viewer.open(str(root), plugin=None)
    assert [(layer.name, type(layer).__name__) for layer in layers] == [
        ("image", "Image"),
        ("working mask", "Labels"),
    ]
    assert np.array_equal(layers[0].data, np.stack([images["a"], images["b"]]))
    assert np.array_equal(layers[1].data, np.stack([masks["a"], masks["b"]]))
    named = viewer.open(str(root), plugin=PLUGIN)  # naming the plugin needs no choice
    assert [layer.name for layer in named] == ["image [1]", "working mask [1]"]


def test_a_nifti_volume_opens_as_our_image(make_napari_viewer, tmp_path, prefer):
    volume = np.arange(4 * 6 * 5, dtype=np.int16).reshape(4, 6, 5)
    path = save_nifti(tmp_path / "vol.nii.gz", volume)
    viewer = make_napari_viewer()
    assert readers_for(str(path)) == {"napari", PLUGIN}
    prefer("*.nii.gz")
    (layer,) = viewer.open(str(path), plugin=None)
    expected, meta = read_image(path)
    assert layer.name == "vol.nii.gz" and layer.metadata["volume"] is True
    assert np.array_equal(layer.data, expected) and layer.data.ndim == 3


def test_an_extension_less_dicom_file_needs_no_choice(make_napari_viewer, tmp_path):
    pixels = gray(12, 10, seed=3, dtype=np.uint16)
    path = save_dicom(tmp_path / "IM000001", pixels, instance=1, z=0.0)
    viewer = make_napari_viewer()
    assert readers_for(str(path)) == {PLUGIN}  # napari's own reader does not claim it
    (layer,) = viewer.open(str(path), plugin=None)
    assert layer.name == "IM000001" and np.array_equal(layer.data, pixels)


def test_a_dicom_series_folder_opens_as_one_volume(make_napari_viewer, tmp_path, prefer):
    volume = np.stack([gray(8, 9, seed=s, dtype=np.uint16) for s in range(3)])
    folder = dicom_series(tmp_path / "series", volume)
    prefer(folder_pattern(folder))
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(folder), plugin=None)
    assert np.array_equal(layer.data, volume)  # sorted by slice position, not file name


def test_other_folders_and_files_are_left_to_napari(tmp_path):
    save_png(tmp_path / "pngs" / "a.png", gray(8, 8))
    (tmp_path / "notes").write_text("no DICOM prefix here")
    assert hooks.get_reader(str(tmp_path / "pngs")) is None
    assert hooks.get_reader(str(tmp_path / "notes")) is None
    assert hooks.get_reader(str(tmp_path / "missing.nii")) is None
