"""SinGAN-Seg: training on a tiny pair, generated shapes and masks, seeds, the safetensors file."""

import numpy as np
import pytest
import torch

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.progress import drive
from napari_noisyfix.synth.singan_generate import SinGANSeg
from napari_noisyfix.synth.singan_train import SinGANConfig, pair_tensor, scale_sizes, train_singan

TINY = {
    "size": 24,
    "min_size": 12,
    "scales": 2,
    "iters": 3,
    "width": 8,
    "blocks": 3,
    "device": "cpu",
}


def _pair(rgb: bool = False, seed: int = 0):
    rng = np.random.default_rng(seed)
    mask = np.zeros((28, 28), np.uint8)
    mask[6:14, 8:16] = 1
    mask[18:24, 16:26] = 1
    image = (mask * 150 + rng.integers(0, 60, mask.shape)).astype(np.uint8)
    if rgb:
        image = np.stack([image, image // 2, 255 - image], axis=-1)
    return image, mask


@pytest.fixture(scope="module")
def grey_model():
    image, mask = _pair()
    return drive(train_singan(image, mask, SinGANConfig(**TINY, seed=3)), quiet=True)


def test_scale_sizes_grow_from_min_to_training_size():
    sizes = scale_sizes((48, 64), SinGANConfig(size=64, min_size=12, scales=3))
    assert sizes[0][0] == 12 and sizes[-1] == (48, 64)
    assert sizes[0] < sizes[1] < sizes[2]


def test_pair_tensor_has_mask_channel_and_range():
    image, mask = _pair(rgb=True)
    x, (lo, hi) = pair_tensor(image, mask, 24, "a")
    assert x.shape == (1, 4, 24, 24)
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0
    assert (lo, hi) == (float(image.min()), float(image.max()))


def test_pair_tensor_refuses_multiclass_and_shape_mismatch():
    image, mask = _pair()
    with pytest.raises(NoisyFixError, match="a: mask holds class 2"):
        pair_tensor(image, mask * 2, 24, "a")
    with pytest.raises(NoisyFixError, match="b: mask shape"):
        pair_tensor(image, mask[:10], 24, "b")


def test_training_reports_progress_per_scale_and_can_be_cancelled():
    image, mask = _pair()
    job = train_singan(image, mask, SinGANConfig(**TINY))
    reports = [next(job) for _ in range(4)]
    assert [r.stage for r in reports] == ["scale 1/2"] * 3 + ["scale 2/2"]
    assert {"critic", "rec"} <= set(reports[0].metrics)
    job.close()  # cancel mid-scale: nothing is returned or written


@pytest.mark.parametrize("rgb", [False, True])
def test_generated_pairs_have_shape_channels_and_binary_nonempty_masks(rgb, grey_model):
    image, mask = _pair(rgb=rgb)
    model = (
        grey_model
        if not rgb
        else drive(train_singan(image, mask, SinGANConfig(**TINY)), quiet=True)
    )
    assert len(model.generators) == 2 and model.image_channels == (3 if rgb else 1)
    pairs = model.sample(3, seed=1)
    assert len(pairs) == 3
    for img, m in pairs:
        assert img.shape == ((24, 24, 3) if rgb else (24, 24)) and img.dtype == np.uint8
        assert m.shape == (24, 24) and set(np.unique(m)) <= {0, 1} and m.any()
    img, m = model.sample(1, seed=1, shape=(28, 28))[0]
    assert img.shape[:2] == (28, 28) and m.shape == (28, 28)


def test_same_seed_same_pairs(grey_model):
    image, mask = _pair()
    again = drive(train_singan(image, mask, SinGANConfig(**TINY, seed=3)), quiet=True)
    for (a, m), (b, n) in zip(grey_model.sample(2, seed=5), again.sample(2, seed=5), strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(m, n)
    other = grey_model.sample(1, seed=6)[0][0]
    assert not np.array_equal(other, grey_model.sample(1, seed=5)[0][0])


def test_empty_masks_are_refused_when_the_source_had_objects(grey_model):
    import copy

    broken = copy.copy(grey_model)
    broken.run = lambda noises, upto=None: torch.full_like(grey_model.z_opt, -1.0)
    with pytest.raises(NoisyFixError, match="non-empty mask"):
        broken.sample(1)


def test_safetensors_round_trip_gives_the_same_pairs(tmp_path, grey_model):
    path = grey_model.save(tmp_path / "g.safetensors")
    loaded = SinGANSeg.load(path)
    assert loaded.sizes == grey_model.sizes and loaded.amps == pytest.approx(grey_model.amps)
    for (a, m), (b, n) in zip(grey_model.sample(2, seed=9), loaded.sample(2, seed=9), strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(m, n)


def test_a_foreign_file_is_refused_in_one_line(tmp_path):
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"not a tensor file")
    with pytest.raises(NoisyFixError, match="x.safetensors: not a SinGAN-Seg generator file"):
        SinGANSeg.load(bad)
