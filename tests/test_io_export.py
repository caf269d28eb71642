"""export_project and write_mask: input formats round-trip, log and model copied, atomic output."""

import csv

import nibabel as nib
import numpy as np
import pytest
import tifffile
from io_samples import dicom_series, disc_mask, gray, save_nifti, save_png
from PIL import Image

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.io.export import export_project
from napari_noisyfix.io.importer import import_project
from napari_noisyfix.io.readers import read_mask
from napari_noisyfix.io.writers import write_mask
from napari_noisyfix.progress import drive


def _png_project(tmp_path):
    for i in range(2):
        save_png(tmp_path / "images" / f"a{i}.png", gray(seed=i))
        save_png(tmp_path / "masks" / f"a{i}.png", disc_mask(24, 32) * 255)
    return import_project(tmp_path / "images", tmp_path / "masks", tmp_path / "P")


def test_png_export_writes_corrections_like_the_input(tmp_path):
    proj = _png_project(tmp_path)
    fixed = disc_mask(24, 32, centre=(12, 20), radius=6)
    proj.save_mask("a1", fixed)
    proj.log.record("review", reviewer="ann", image="a1", action="edit", pixels_changed=40)
    out = drive(export_project(proj, tmp_path / "out"), quiet=True)
    assert np.array_equal(np.array(Image.open(out / "masks" / "a1.png")), fixed * 255)
    assert np.array_equal(np.array(Image.open(out / "masks" / "a0.png")), disc_mask(24, 32) * 255)
    rows = list(csv.DictReader((out / "review_log.csv").read_text().splitlines()))
    assert [r["event"] for r in rows] == ["import", "review"] and rows[1]["reviewer"] == "ann"
    assert "No model trained yet" in (out / "EXPORT.txt").read_text()
    assert proj.log.rows("export")[0]["details"]["format"] == "source"


def _checkpoint(proj):
    import torch

    from napari_noisyfix.model.checkpoints import save_checkpoint
    from napari_noisyfix.model.config import TrainConfig

    state = {"w": torch.arange(6, dtype=torch.float32)}
    return save_checkpoint(proj.model_dir(1), state, TrainConfig(), 1, 2)


def test_progress_is_yielded_and_model_copied(tmp_path):
    proj = _png_project(tmp_path)
    model = _checkpoint(proj)
    steps = list(export_project(proj, tmp_path / "out", fmt="tiff"))
    assert [p.step for p in steps] == [1, 2, 3, 4] and steps[-1].total == 4
    for name in ("config.json", "model.safetensors"):
        assert (tmp_path / "out" / "model" / name).read_bytes() == (model / name).read_bytes()
    assert np.array_equal(
        tifffile.imread(tmp_path / "out" / "masks" / "a0.tif"), disc_mask(24, 32) * 255
    )


def test_nifti_volume_is_restacked_with_its_affine(tmp_path):
    affine = np.diag([0.5, 0.5, 2.0, 1.0])
    mask = np.zeros((20, 16, 3), np.uint8)
    mask[4:9, 2:7, 1] = 1
    save_nifti(tmp_path / "images" / "v.nii.gz", np.ones((20, 16, 3), np.int16), affine)
    save_nifti(tmp_path / "masks" / "v.nii.gz", mask, affine)
    proj = import_project(tmp_path / "images", tmp_path / "masks", tmp_path / "P")
    fixed = proj.mask("v_z002").copy()
    fixed[0:3, 0:3] = 1
    proj.save_mask("v_z002", fixed)
    out = drive(export_project(proj, tmp_path / "out"), quiet=True)
    img = nib.load(out / "masks" / "v.nii.gz")
    np.testing.assert_allclose(img.affine, affine)
    expect = mask.copy()
    expect[0:3, 0:3, 2] = 1
    assert np.array_equal(np.asanyarray(img.dataobj), expect)


def test_dicom_series_exports_png_slices_with_a_note(tmp_path):
    volume = np.stack([gray(12, 10, seed=z, dtype=np.uint16) for z in range(2)])
    dicom_series(tmp_path / "images" / "s", volume)
    save_nifti(tmp_path / "masks" / "s.nii", np.zeros((12, 10, 2), np.uint8))
    proj = import_project(tmp_path / "images", tmp_path / "masks", tmp_path / "P")
    out = drive(export_project(proj, tmp_path / "out"), quiet=True)
    assert sorted(p.name for p in (out / "masks").iterdir()) == ["s_z000.png", "s_z001.png"]
    assert "DICOM masks are written as PNG" in (out / "EXPORT.txt").read_text()


def test_sample_project_without_sources_exports_png(tmp_path):
    from napari_noisyfix.synth.sample import make_sample_project

    proj = make_sample_project(tmp_path / "S", n=2, size=32)
    out = drive(export_project(proj, tmp_path / "out"), quiet=True)
    files = sorted(p.name for p in (out / "masks").iterdir())
    assert files == [f"{n}.png" for n in proj.names]
    assert np.array_equal(read_mask(out / "masks" / files[0]), proj.mask(proj.names[0]))


def test_refuses_non_empty_output_and_cancel_leaves_nothing(tmp_path):
    proj = _png_project(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    with pytest.raises(NoisyFixError, match="out: folder is not empty"):
        next(export_project(proj, tmp_path / "out"))
    with pytest.raises(NoisyFixError, match="out: not a noisyfix export .*found keep.txt"):
        next(export_project(proj, tmp_path / "out", force=True))
    assert (tmp_path / "out" / "keep.txt").read_text() == "x"
    job = export_project(proj, tmp_path / "new")
    next(job)
    job.close()
    assert not (tmp_path / "new").exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    drive(export_project(proj, tmp_path / "new"), quiet=True)
    (tmp_path / "new" / "masks" / "stale.png").write_bytes(b"old")
    drive(export_project(proj, tmp_path / "new", force=True), quiet=True)
    assert not (tmp_path / "new" / "masks" / "stale.png").exists()
    assert (tmp_path / "new" / ".noisyfix-export").is_file()
    with pytest.raises(NoisyFixError, match="export format 'bmp'"):
        next(export_project(proj, tmp_path / "x", fmt="bmp"))


def test_write_mask_formats(tmp_path):
    m = disc_mask(10, 12)
    assert np.array_equal(read_mask(write_mask(tmp_path / "m.png", m, scale=255)), m)
    assert np.array_equal(read_mask(write_mask(tmp_path / "m.tif", m * 3)), m * 3)  # class 3 kept
    ids = m + 2 * disc_mask(10, 12, centre=(2, 2), radius=1)
    assert np.array_equal(read_mask(write_mask(tmp_path / "k.tif", ids)), ids)
    assert np.array_equal(np.load(write_mask(tmp_path / "m.npy", m)), m)
    vol = np.stack([m, 1 - m])
    assert np.array_equal(read_mask(write_mask(tmp_path / "v.nii.gz", vol)), vol)
    with pytest.raises(NoisyFixError, match="unknown mask format"):
        write_mask(tmp_path / "m.bmp", m)
