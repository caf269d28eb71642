"""Pairing by mask suffix (Cellpose's _masks, _seg, common _mask / _label), _seg.npy read without
unpickling, two masks for one image refused, and data folders holding images/ and masks/."""

import numpy as np
import pytest
from io_samples import disc_mask, gray, save_png, save_tiff

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.io.importer import import_project
from napari_noisyfix.io.mask_names import image_key
from napari_noisyfix.io.pairs import data_folders, read_folder_pairs

MASK = disc_mask(24, 32, centre=(10, 12))


def _images(root, names=("a", "b", "c")):
    for i, name in enumerate(names):
        save_png(root / "images" / f"{name}.png", gray(seed=i))
    return root / "images", root / "masks"


@pytest.mark.parametrize(
    ("mask_stem", "owner"),
    [
        ("a", "a"),
        ("a_mask", "a"),
        ("a_masks", "a"),
        ("a_Labels", "a"),
        ("a-label", "a"),
        ("a_seg", "a"),
        ("a_mask_mask", None),
        ("b_masks", None),
        ("amask", None),
    ],
)
def test_image_key_strips_one_mask_suffix(mask_stem, owner):
    assert image_key(mask_stem, {"a", "a_mask_x"}) == owner


def test_an_exact_stem_wins_over_a_suffix():
    assert image_key("a_mask", {"a", "a_mask"}) == "a_mask"


def test_suffixed_masks_of_several_styles_pair_with_their_images(tmp_path):
    images, masks = _images(tmp_path)
    save_png(masks / "a_masks.png", MASK * 255)  # Cellpose
    save_tiff(masks / "b_label.tif", MASK)
    np.save(masks / "c_seg.npy", MASK.astype(np.uint16))  # a plain array: read
    pairs = {p.name: p for p in read_folder_pairs(images, masks)}
    assert sorted(pairs) == ["a", "b", "c"]
    for name, file in (("a", "a_masks.png"), ("b", "b_label.tif"), ("c", "c_seg.npy")):
        assert pairs[name].mask_source.endswith(file)
        assert np.array_equal(pairs[name].mask, MASK)


def test_a_pickled_cellpose_seg_npy_is_refused_in_one_line(tmp_path):
    images, masks = _images(tmp_path, ["a"])
    masks.mkdir()
    seg = {"masks": MASK.astype(np.uint16), "filename": "a.png"}
    np.save(masks / "a_seg.npy", seg, allow_pickle=True)
    with pytest.raises(NoisyFixError) as err:
        read_folder_pairs(images, masks)
    text = str(err.value)
    assert "a_seg.npy" in text and "does not unpickle" in text and "PNG or TIFF" in text
    assert "\n" not in text


def test_two_masks_for_one_image_name_both(tmp_path):
    images, masks = _images(tmp_path, ["a"])
    save_png(masks / "a.png", MASK)
    save_png(masks / "a_mask.png", MASK)
    with pytest.raises(NoisyFixError, match="two masks for this image") as err:
        read_folder_pairs(images, masks)
    assert "a.png and a_mask.png" in str(err.value) and "\n" not in str(err.value)


def test_a_mask_that_names_no_image_is_an_orphan(tmp_path):
    images, masks = _images(tmp_path, ["a"])
    save_png(masks / "a_mask.png", MASK)
    save_png(masks / "z_mask.png", MASK)
    with pytest.raises(NoisyFixError, match="z_mask.png: mask without an image"):
        read_folder_pairs(images, masks)


def test_data_folders_and_import_from_a_parent(tmp_path):
    images, masks = _images(tmp_path / "data", ["a", "b"])
    for name in ("a", "b"):
        save_png(masks / f"{name}_mask.png", MASK * 255)
    assert data_folders(tmp_path / "data") == (images, masks)
    project = import_project(*data_folders(tmp_path / "data"), tmp_path / "P")
    assert project.names == ["a", "b"]
    (tmp_path / "only").mkdir()
    with pytest.raises(NoisyFixError, match="no images/ and no masks/ folder inside"):
        data_folders(tmp_path / "only")
