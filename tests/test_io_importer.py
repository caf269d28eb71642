"""import_project: pairing, patients, clean list, volumes, and every bad input leaving nothing."""

import shutil
from pathlib import Path

import numpy as np
import pytest
from io_samples import dicom_series, disc_mask, gray, save_nifti, save_png, save_tiff

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.io.importer import import_project
from napari_noisyfix.io.pairs import read_folder_pairs
from napari_noisyfix.project import Project

DATA = Path("/work/shared/data")


def _png_set(root: Path, n: int = 3, rgb: bool = False) -> tuple[Path, Path]:
    for i in range(n):
        img = gray(seed=i)
        if rgb:
            img = np.stack([img, img[::-1], 255 - img], axis=-1)
        save_png(root / "images" / f"im{i}.png", img)
        save_png(root / "masks" / f"im{i}.png", disc_mask(24, 32, centre=(8 + i, 12)) * 255)
    return root / "images", root / "masks"


def _leftovers(parent: Path, keep=("images", "masks")) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name not in keep)


def test_import_png_gray_pairs_and_defaults(tmp_path):
    images, masks = _png_set(tmp_path)
    proj = import_project(images, masks, tmp_path / "P")
    assert proj.names == ["im0", "im1", "im2"] and proj.n_classes == 2 and proj.in_channels == 1
    assert proj.patients() == {"im0": "im0", "im1": "im1", "im2": "im2"}
    assert np.array_equal(proj.original_mask("im1"), disc_mask(24, 32, centre=(9, 12)))
    assert np.array_equal(proj.image("im2"), gray(seed=2))
    entry = proj.entry("im0")
    assert entry["source_format"] == "png" and entry["source"].endswith("images/im0.png")
    assert Project.open(proj.root, mode="read").config["import"]["mask_scale"] == 255


def test_import_rgb_with_patient_table_and_clean_list(tmp_path):
    images, masks = _png_set(tmp_path, rgb=True)
    csv = tmp_path / "patients.csv"
    csv.write_text("image,patient\nim0.png,A\nim1,A\nim2.png,B\n")
    proj = import_project(images, masks, tmp_path / "P", patients_csv=csv, clean={"im2.png"})
    assert proj.in_channels == 3 and proj.image("im0").shape == (24, 32, 3)
    assert proj.patients() == {"im0": "A", "im1": "A", "im2": "B"}
    assert proj.clean_names() == ["im2"]


def test_import_16_bit_tiff_with_class_labels(tmp_path):
    for i in range(2):
        save_tiff(tmp_path / "images" / f"t{i}.tif", gray(seed=i, dtype=np.uint16))
        labels = disc_mask(24, 32) + 2 * disc_mask(24, 32, centre=(18, 26), radius=4)
        save_tiff(tmp_path / "masks" / f"t{i}.tiff", labels)
    proj = import_project(tmp_path / "images", tmp_path / "masks", tmp_path / "P")
    assert proj.image("t0").dtype == np.uint16 and proj.n_classes == 3
    assert proj.config["import"]["mask_scale"] == 1


def test_import_nifti_volume_as_named_slices(tmp_path):
    xyz = np.random.default_rng(0).integers(0, 4000, size=(20, 16, 4)).astype(np.int16)
    mask = np.zeros((20, 16, 4), np.uint8)
    mask[5:12, 4:9, 1:3] = 1
    save_nifti(tmp_path / "images" / "ct1.nii.gz", xyz)
    save_nifti(tmp_path / "masks" / "ct1.nii.gz", mask)
    csv = tmp_path / "p.csv"
    csv.write_text("image,patient\nct1.nii.gz,patient7\n")
    proj = import_project(tmp_path / "images", tmp_path / "masks", tmp_path / "P")
    assert proj.names == [f"ct1_z{z:03d}" for z in range(4)]
    assert set(proj.patients().values()) == {"ct1"}
    assert np.array_equal(proj.image("ct1_z002"), xyz[:, :, 2])
    assert np.array_equal(proj.original_mask("ct1_z001"), mask[:, :, 1])
    assert proj.entry("ct1_z003")["slice"] == 3
    proj.close()  # --force refuses to replace a project open for writing
    again = import_project(tmp_path / "images", tmp_path / "masks", tmp_path / "P", csv, force=True)
    assert set(again.patients().values()) == {"patient7"}


def test_import_dicom_series_with_a_folder_of_mask_slices(tmp_path):
    volume = np.stack([gray(12, 10, seed=z, dtype=np.uint16) for z in range(3)])
    dicom_series(tmp_path / "images" / "seriesA", volume)
    for z in range(3):
        save_png(tmp_path / "masks" / "seriesA" / f"slice{z}.png", disc_mask(12, 10, (6, 5), z + 1))
    proj = import_project(tmp_path / "images", tmp_path / "masks", tmp_path / "P")
    assert proj.names == ["seriesA_z000", "seriesA_z001", "seriesA_z002"]
    assert np.array_equal(proj.image("seriesA_z001"), volume[1])
    assert proj.original_mask("seriesA_z002").sum() == disc_mask(12, 10, (6, 5), 3).sum()
    assert proj.entry("seriesA_z000")["source_format"] == "dicom"


def _break_mask_without_image(img, msk):
    save_png(msk / "orphan.png", disc_mask(24, 32))


def _break_image_without_mask(img, msk):
    (msk / "im1.png").unlink()


def _break_shape(img, msk):
    save_png(msk / "im1.png", np.zeros((10, 10), np.uint8))


def _break_float_mask(img, msk):
    (msk / "im1.png").unlink()
    save_tiff(msk / "im1.tif", np.full((24, 32), 0.5, np.float32))


def _break_classes(img, msk):
    (msk / "im1.png").unlink()
    save_tiff(msk / "im1.tif", (np.arange(24 * 32).reshape(24, 32) % 400).astype(np.uint16))


def _break_corrupt(img, msk):
    (img / "im1.png").write_bytes((img / "im1.png").read_bytes()[:60])


def _break_text(img, msk):
    (img / "im1.png").write_text("hello")


def _break_empty(img, msk):
    shutil.rmtree(img)
    img.mkdir()


@pytest.mark.parametrize(
    ("damage", "file", "message"),
    [
        (_break_mask_without_image, "orphan.png", "mask without an image"),
        (_break_image_without_mask, "im1.png", "image without a mask"),
        (_break_shape, "im1.png", "does not match"),
        (_break_float_mask, "im1.tif", "non-integer"),
        (_break_classes, "im1.tif", "too many classes"),
        (_break_corrupt, "im1.png", "unreadable or corrupt"),
        (_break_text, "im1.png", "unreadable or corrupt"),
        (_break_empty, "images", "no images found"),
    ],
)
def test_bad_inputs_name_the_file_and_leave_nothing(tmp_path, damage, file, message):
    images, masks = _png_set(tmp_path)
    damage(images, masks)
    with pytest.raises(NoisyFixError, match=message) as err:
        import_project(images, masks, tmp_path / "P")
    assert file in str(err.value)
    assert _leftovers(tmp_path) == []


def test_existing_project_needs_force_and_bad_tables_are_named(tmp_path):
    images, masks = _png_set(tmp_path)
    (tmp_path / "P").mkdir()
    with pytest.raises(NoisyFixError, match="exists already"):
        import_project(images, masks, tmp_path / "P")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,who\nim0,A\n")
    with pytest.raises(NoisyFixError, match="bad.csv: patient table needs"):
        import_project(images, masks, tmp_path / "Q", patients_csv=bad)
    bad.write_text("image,patient\nnope.png,A\n")
    with pytest.raises(NoisyFixError, match="line 2: 'nope.png' matches no imported image"):
        import_project(images, masks, tmp_path / "Q", patients_csv=bad)
    with pytest.raises(NoisyFixError, match="clean list: 'zz' matches no imported image"):
        import_project(images, masks, tmp_path / "Q", clean={"zz"})
    assert _leftovers(tmp_path) == ["P", "bad.csv"]
    assert len(import_project(images, masks, tmp_path / "P", force=True).names) == 3


def test_mixed_gray_and_rgb_is_refused_naming_the_file(tmp_path):
    images, masks = _png_set(tmp_path)
    save_png(images / "im2.png", np.zeros((24, 32, 3), np.uint8))
    with pytest.raises(NoisyFixError, match="im2.png: RGB image among gray ones"):
        import_project(images, masks, tmp_path / "P")


@pytest.mark.parametrize("dataset", ["dsb2018_nuclei_fluo", "dsb2018_nuclei_histo"])
def test_real_folders_three_files(tmp_path, dataset):
    src = DATA / dataset
    if not (src / "images").is_dir():
        pytest.skip(f"{src} not available")
    for name in sorted(p.name for p in (src / "images").glob("*.png"))[:3]:
        for sub in ("images", "masks"):
            (tmp_path / sub).mkdir(exist_ok=True)
            shutil.copy(src / sub / name, tmp_path / sub / name)
    pairs = read_folder_pairs(tmp_path / "images", tmp_path / "masks")
    proj = import_project(tmp_path / "images", tmp_path / "masks", tmp_path / "P")
    assert len(proj.names) == 3 and proj.n_classes == 2
    assert proj.in_channels == (3 if "histo" in dataset else 1)
    assert all(set(np.unique(p.mask)) <= {0, 1} for p in pairs)
