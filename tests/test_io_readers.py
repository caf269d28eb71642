"""Readers: every format and pixel type, masks' value rules, and corrupt or hostile files."""

import numpy as np
import pytest
from io_samples import (
    dicom_series,
    disc_mask,
    gray,
    png_with_size,
    save_dicom,
    save_nifti,
    save_png,
    save_tiff,
)
from PIL import Image

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.io.formats import DEFAULT_MAX_BYTES, detect_format, safe_name, stem
from napari_noisyfix.io.loaders import parse_channel_axis
from napari_noisyfix.io.readers import load_raw, read_image, read_mask


def test_png_gray_rgb_rgba_and_16_bit(tmp_path):
    g = gray()
    rgb = np.stack([g, g[::-1], 255 - g], axis=-1)
    img, meta = read_image(save_png(tmp_path / "g.png", g))
    assert img.dtype == np.uint8 and np.array_equal(img, g)
    assert meta["source_format"] == "png" and not meta["volume"]
    assert np.array_equal(read_image(save_png(tmp_path / "c.png", rgb))[0], rgb)
    rgba = np.concatenate([rgb, np.full(g.shape + (1,), 7, np.uint8)], axis=-1)
    assert np.array_equal(read_image(save_png(tmp_path / "a.png", rgba))[0], rgb)
    g16 = gray(dtype=np.uint16)
    img16, _ = read_image(save_png(tmp_path / "g16.png", g16))
    assert img16.dtype == np.uint16 and np.array_equal(img16, g16)


def test_jpeg_reads_as_gray(tmp_path):
    path = tmp_path / "j.jpg"
    Image.fromarray(np.full((16, 16), 100, np.uint8)).save(path, quality=95)
    img, meta = read_image(path)
    assert img.shape == (16, 16) and abs(int(img.mean()) - 100) <= 2
    assert meta["source_format"] == "jpeg"


def test_tiff_16_bit_rgb_and_stack(tmp_path):
    g16 = gray(dtype=np.uint16)
    img, meta = read_image(save_tiff(tmp_path / "g.tif", g16))
    assert img.dtype == np.uint16 and np.array_equal(img, g16) and meta["source_format"] == "tiff"
    rgb = np.stack([gray(seed=i) for i in range(3)], axis=-1)
    assert np.array_equal(
        read_image(save_tiff(tmp_path / "c.tiff", rgb, photometric="rgb"))[0], rgb
    )
    stack = np.stack([gray(seed=i) for i in range(4)])
    vol, meta = read_image(save_tiff(tmp_path / "s.tif", stack, photometric="minisblack"))
    assert meta["volume"] and np.array_equal(vol, stack)


def test_nifti_volume_gives_slices_along_the_third_axis(tmp_path):
    xyz = np.random.default_rng(0).integers(0, 1000, size=(20, 16, 5)).astype(np.int16)
    vol, meta = read_image(save_nifti(tmp_path / "v.nii.gz", xyz))
    assert meta["volume"] and meta["source_format"] == "nifti" and vol.shape == (5, 20, 16)
    assert vol.dtype == np.uint16 and np.array_equal(vol[3], xyz[:, :, 3])


def test_dicom_file_and_series_sorted_by_position(tmp_path):
    volume = np.stack([np.full((12, 10), 100 * (z + 1), np.uint16) for z in range(4)])
    img, meta = read_image(save_dicom(tmp_path / "one.dcm", volume[0], 1, 0.0))
    assert np.array_equal(img, volume[0]) and meta["patient_id"] == "PAT1"
    vol, meta = read_image(dicom_series(tmp_path / "series", volume))
    assert meta["volume"] and meta["source_format"] == "dicom"
    assert np.array_equal(vol, volume)
    assert meta["files"] == ["file004.dcm", "file003.dcm", "file002.dcm", "file001.dcm"]


def test_dicom_without_extension_is_recognised(tmp_path):
    path = save_dicom(tmp_path / "IM0001", np.ones((8, 8), np.uint16), 1, 0.0)
    assert detect_format(path) == "dicom"
    assert detect_format(tmp_path / "notes.txt") is None


def test_masks_binary_255_classes_and_gray_rgb(tmp_path):
    m = disc_mask(24, 32)
    assert np.array_equal(read_mask(save_png(tmp_path / "b.png", m * 255)), m)
    classes = m + 2 * disc_mask(24, 32, centre=(18, 24), radius=3)
    assert np.array_equal(read_mask(save_png(tmp_path / "k.png", classes)), classes)
    rgb = np.repeat((m * 255)[..., None], 3, axis=-1)
    assert np.array_equal(read_mask(save_png(tmp_path / "r.png", rgb)), m)
    assert np.array_equal(
        read_mask(save_tiff(tmp_path / "b16.tif", m.astype(np.uint16) * 65535)), m
    )
    pal = Image.fromarray(classes.astype(np.uint8), mode="P")
    pal.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    pal.save(tmp_path / "p.png")
    assert np.array_equal(read_mask(tmp_path / "p.png"), classes)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (
            np.stack([np.zeros((8, 8)), np.ones((8, 8)), np.zeros((8, 8))], -1).astype(np.uint8),
            "colour mask",
        ),
        (np.full((8, 8), 0.5, np.float32), "non-integer"),
        (np.arange(64, dtype=np.uint16).reshape(8, 8) * 10, "neither binary nor class ids"),
        ((np.arange(64, dtype=np.uint16).reshape(8, 8) * 7) % 300, "neither binary nor class"),
        (np.arange(400, dtype=np.uint16).reshape(20, 20), "400 class ids: too many classes"),
        (-np.ones((8, 8), np.int16), "negative"),
    ],
)
def test_bad_masks_are_refused_naming_the_file(tmp_path, array, message):
    path = save_tiff(tmp_path / "bad.tif", array)
    with pytest.raises(NoisyFixError, match=message) as err:
        read_mask(path)
    assert "bad.tif" in str(err.value)


def test_corrupt_files_are_named(tmp_path):
    good = save_png(tmp_path / "good.png", gray(64, 64))
    (tmp_path / "trunc.png").write_bytes(good.read_bytes()[:200])
    (tmp_path / "text.png").write_text("not an image")
    (tmp_path / "bad.nii.gz").write_bytes(b"\x1f\x8b garbage")
    dcm = save_dicom(tmp_path / "full.dcm", np.ones((32, 32), np.uint16), 1, 0.0)
    (tmp_path / "cut.dcm").write_bytes(dcm.read_bytes()[:-500])
    for name in ("trunc.png", "text.png", "bad.nii.gz", "cut.dcm"):
        with pytest.raises(NoisyFixError, match="unreadable or corrupt") as err:
            read_image(tmp_path / name)
        assert name in str(err.value)
    (tmp_path / "junk.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"junk")
    with pytest.raises(NoisyFixError, match="junk.dcm: DICOM file holds no image"):
        read_image(tmp_path / "junk.dcm")
    with pytest.raises(NoisyFixError, match="not a supported image file"):
        read_image(tmp_path / "x.bmp")


def test_absurd_sizes_are_refused_before_allocating(tmp_path):
    with pytest.raises(NoisyFixError, match="exceeds the limit") as err:
        read_image(png_with_size(tmp_path / "huge.png", 100_000, 100_000))
    assert "huge.png" in str(err.value)
    path = save_nifti(tmp_path / "v.nii", np.zeros((4, 4, 2), np.uint8))
    raw = bytearray(path.read_bytes())
    raw[40:56] = np.array([3, 30000, 30000, 30000, 1, 1, 1, 1], "<i2").tobytes()
    path.write_bytes(bytes(raw))
    with pytest.raises(NoisyFixError, match="v.nii: decodes to 24.6 TiB, over the 1.0 GiB limit"):
        read_image(path)
    assert DEFAULT_MAX_BYTES == 1 << 30


def test_mask_values_binary_of_any_value_or_dense_class_ids(tmp_path):
    m = disc_mask(24, 32)
    # a file read alone keeps a single class id as written (import decides over all files)
    assert np.array_equal(read_mask(save_png(tmp_path / "h.png", m * 128)), m * 128)
    assert np.array_equal(read_mask(save_png(tmp_path / "w.png", m * 255)), m)
    assert np.array_equal(read_mask(save_png(tmp_path / "one.png", m * 0 + 7)), m * 0 + 7)
    ids = m + 2 * disc_mask(24, 32, centre=(18, 24), radius=3)
    assert np.array_equal(read_mask(save_tiff(tmp_path / "ids.tif", ids)), ids)
    bad = ids.astype(np.uint8)
    bad[bad == 2] = 255
    with pytest.raises(NoisyFixError) as err:
        read_mask(save_png(tmp_path / "bad.png", bad))
    assert str(err.value) == (
        f"{tmp_path / 'bad.png'}: mask values {{0, 1, 255}} are neither binary nor class ids "
        "0..K-1; give binary masks (0 and one other value) or class ids"
    )


def test_names_and_stems():
    assert stem("a/b/vol.nii.gz") == "vol" and stem("x.PNG") == "x" and stem("x.y.tif") == "x.y"
    assert safe_name("case 1 (a).png") == "case_1__a_.png" and safe_name(".hidden") == "_hidden"


def test_a_two_channel_yxc_tiff_is_channels_not_slices(tmp_path):
    yxc = np.stack([gray(seed=0), gray(seed=1)], axis=-1)  # tifffile stores it as pages of Y x 2
    with pytest.raises(NoisyFixError, match=r"y.tif: 2 channels; a project holds gray or RGB"):
        read_image(save_tiff(tmp_path / "y.tif", yxc))
    raw = load_raw(tmp_path / "y.tif")
    assert not raw.volume and raw.array.shape == (*gray().shape, 2)


def test_channel_axis_picks_the_channels_or_says_there_are_none(tmp_path):
    rgb = np.stack([gray(seed=i) for i in range(3)])  # CYX
    path = save_tiff(tmp_path / "cyx.tif", rgb, photometric="minisblack")
    vol, meta = read_image(path)  # pages: a stack of slices by default
    assert meta["volume"] and vol.shape == rgb.shape
    img, meta = read_image(path, channel_axis=0)
    assert not meta["volume"] and np.array_equal(img, np.moveaxis(rgb, 0, -1))
    with pytest.raises(NoisyFixError, match=r"cyx.tif: --channel-axis 3 is outside its 3 axes"):
        read_image(path, channel_axis=3)


def test_a_shape_that_could_be_channels_or_slices_is_refused_in_one_line(tmp_path):
    path = save_tiff(tmp_path / "amb.tif", np.zeros((96, 96, 8), np.uint8))
    with pytest.raises(NoisyFixError) as info:
        read_image(path)
    text = str(info.value)
    assert "\n" not in text and text.startswith(str(path))
    assert "could be 8 channels or 96 slices" in text and "--channel-axis" in text
    vol, meta = read_image(path, channel_axis="none")
    assert meta["volume"] and vol.shape == (96, 96, 8)


def test_four_channels_are_not_rgba_unless_the_file_says_alpha(tmp_path):
    four = np.stack([gray(64, 64, seed=i) for i in range(4)])  # 4 samples, none marked alpha
    path = save_tiff(tmp_path / "c4.tif", four, photometric="minisblack", planarconfig="separate")
    with pytest.raises(NoisyFixError, match="c4.tif: 4 channels; a project holds gray or RGB"):
        read_image(path)
    rgba = np.stack([gray(seed=i) for i in range(4)], axis=-1)
    img, _ = read_image(
        save_tiff(tmp_path / "a.tif", rgba, photometric="rgb", extrasamples="unassalpha")
    )
    assert np.array_equal(img, rgba[..., :3])


def test_parse_channel_axis():
    assert parse_channel_axis(None) is None and parse_channel_axis("None") == "none"
    assert parse_channel_axis("-1") == -1
    with pytest.raises(NoisyFixError, match="--channel-axis 'last'"):
        parse_channel_axis("last")
