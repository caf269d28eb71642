"""Sliding-window helpers: tile placement, blending window, padding."""

import pytest
import torch

from napari_noisyfix.model.tiling import pad_reflect, ramp, sliding_window, tile_starts, whole_image


def identity(x):
    return (x * 2,)


def test_tile_starts_cover_the_axis():
    assert tile_starts(50, 64, 48) == [0]
    assert tile_starts(150, 64, 48) == [0, 48, 86]
    starts = tile_starts(1000, 64, 48)
    assert starts[-1] + 64 == 1000 and all(
        b - a <= 48 for a, b in zip(starts, starts[1:], strict=False)
    )


def test_ramp_rises_over_the_margin():
    w = ramp(8, 3)
    assert w.tolist() == pytest.approx([0.25, 0.5, 0.75, 1, 1, 0.75, 0.5, 0.25])
    assert ramp(4, 0).tolist() == [1, 1, 1, 1]


def test_pointwise_forward_is_unchanged_by_tiling():
    x = torch.randn(2, 3, 150, 97)
    (out,) = sliding_window(identity, x, tile=64, overlap=0.25, batch=3)
    assert out.shape == x.shape and torch.allclose(out, x * 2, atol=1e-5)


def test_whole_image_pads_to_multiples_of_32_and_crops_back():
    seen = []

    def forward(t):
        seen.append(tuple(t.shape[-2:]))
        return (t,)

    x = torch.randn(1, 1, 40, 70)
    (out,) = whole_image(forward, x)
    assert seen == [(64, 96)] and torch.equal(out, x)
    (small,) = sliding_window(forward, x, tile=128)
    assert seen[-1] == (64, 96) and torch.equal(small, x)


def test_pad_reflect_mirrors_or_replicates():
    x = torch.arange(4.0).reshape(1, 1, 1, 4)
    assert pad_reflect(x, 1, 6)[0, 0, 0].tolist() == [0, 1, 2, 3, 2, 1]
    assert pad_reflect(x, 3, 4)[0, 0, :, 0].tolist() == [0, 0, 0]  # too thin to mirror
