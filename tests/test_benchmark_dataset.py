"""benchmark.dataset and benchmark.budget: working shape, budgets, noise types, real noise."""

import numpy as np
import pytest
import tifffile
from PIL import Image
from scipy import ndimage

from napari_noisyfix.benchmark.budget import get_budget
from napari_noisyfix.benchmark.dataset import noise_summary, noise_types, prepare, working_shape
from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.synth.phantoms import make_phantom

#: Images whose given mask differs from the truth in :func:`write_given_folder`.
WRONG = {"cell1": "eroded", "cell3": "dropped", "cell4": "blob"}


def _wrong(mask: np.ndarray, how: str) -> np.ndarray:
    if how == "eroded":
        return ndimage.binary_erosion(mask, iterations=2).astype(np.uint8)
    if how == "dropped":
        labels, _ = ndimage.label(mask)
        return (mask > 0) & (labels != labels[tuple(np.argwhere(labels)[0])])
    out = mask.copy()
    out[2:8, 2:8] = 1
    return out


def write_given_folder(root, n=6, size=64):
    """``root/data`` (images, masks with real errors on :data:`WRONG`) and ``root/truth`` (the
    true masks as 0/1 TIFF files, where the given masks are 0/255 PNG files)."""
    rng = np.random.default_rng(1)
    data, truth = root / "data", root / "truth"
    for sub in (data / "images", data / "masks", truth):
        sub.mkdir(parents=True)
    for i in range(n):
        image, mask = make_phantom(rng, size, "nuclei")
        given = _wrong(mask, WRONG[f"cell{i}"]) if f"cell{i}" in WRONG else mask
        Image.fromarray(image).save(data / "images" / f"cell{i}.png")
        Image.fromarray((np.asarray(given) > 0).astype(np.uint8) * 255).save(
            data / "masks" / f"cell{i}.png"
        )
        tifffile.imwrite(truth / f"cell{i}.tif", (mask > 0).astype(np.uint8))
    return data, truth


def test_budgets_and_working_shape():
    assert get_budget("tiny").size == 64
    with pytest.raises(NoisyFixError, match="unknown budget"):
        get_budget("huge")
    assert working_shape([(256, 320)] * 3 + [(200, 200)], 128) == (128, 160)
    assert working_shape([(256, 256)], 128) == (128, 128)


def test_noise_types_are_normalised_and_checked():
    assert noise_types(" Realistic ") == "realistic"
    assert noise_types("drop, add,drop") == "drop,add"
    with pytest.raises(NoisyFixError, match="unknown noise type 'bogus'"):
        noise_types("drop,bogus")


def test_realistic_noise_types_reach_corrupt_dataset(tmp_path):
    from napari_noisyfix.synth.noise import REALISTIC_KINDS

    data, _ = write_given_folder(tmp_path, n=6, size=48)
    bench = prepare(data, 1.0, 0, 48, kinds="realistic")
    types = {row["type"] for row in bench.noise_log}
    assert types <= set(REALISTIC_KINDS) | {"none"} and types - {"none"}
    facts = noise_summary(bench)
    assert facts["noise.source"] == "synthetic" and facts["noise.types"] == "realistic"
    assert facts["noise.fraction"] == 1.0 and "noise.truth_dir" not in facts
    protocol = prepare(data, 1.0, 0, 48)
    assert {row["type"] for row in protocol.noise_log} <= {
        "dilate",
        "erode",
        "affine",
        "drop",
        "add",
    }


def test_truth_folder_gives_real_noise(tmp_path):
    data, truth = write_given_folder(tmp_path)
    bench = prepare(data, 0.9, 0, 64, kinds="ignored-with-truth", truth_dir=truth)
    flags = {row["name"]: row["corrupted"] for row in bench.noise_log}
    assert flags == {f"cell{i}": f"cell{i}" in WRONG for i in range(6)}
    assert {row["type"] for row in bench.noise_log} == {"given"}
    for row in bench.noise_log:
        assert (row["dice_working"] < 1.0) == row["corrupted"]
    given = np.asarray(Image.open(data / "masks" / "cell1.png")) > 0
    assert np.array_equal(bench.noisy["cell1"], given)  # the masks are used as they are
    assert np.array_equal(bench.truth["cell1"], tifffile.imread(truth / "cell1.tif"))
    facts = noise_summary(bench)
    assert facts["noise.source"] == "given" and facts["noise.types"] == "given"
    assert facts["noise.fraction"] == 0.5 and facts["noise.truth_dir"] == str(truth.resolve())


def test_truth_mismatches_are_one_line_errors_naming_the_file(tmp_path):
    data, truth = write_given_folder(tmp_path, n=3, size=32)
    (truth / "cell2.tif").unlink()
    with pytest.raises(NoisyFixError) as missing:
        prepare(data, 0.5, 0, 32, truth_dir=truth)
    assert str(missing.value) == (
        f"{(data / 'masks' / 'cell2.png').resolve()}: no truth mask 'cell2.*' in {truth}"
    )
    tifffile.imwrite(truth / "cell2.tif", np.zeros((32, 40), np.uint8))
    with pytest.raises(NoisyFixError) as shape:
        prepare(data, 0.5, 0, 32, truth_dir=truth)
    assert str(shape.value) == (
        f"{truth / 'cell2.tif'}: truth mask shape (32, 40) does not match the given mask "
        "cell2.png shape (32, 32)"
    )
    with pytest.raises(NoisyFixError, match="truth masks folder not found"):
        prepare(data, 0.5, 0, 32, truth_dir=tmp_path / "nowhere")
