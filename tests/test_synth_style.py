"""Style transfer: the mask stays untouched, colour statistics move towards the style image."""

import numpy as np
import pytest

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.synth.style import STYLES, adain, apply_style, fda


def _encoder(channels=3, encoder="resnet18"):
    """The encoder of a segmentation network as the project builds it (seeded weights)."""
    import torch

    from napari_noisyfix.model.config import TrainConfig
    from napari_noisyfix.model.networks import build_model

    torch.manual_seed(0)
    return build_model(TrainConfig(encoder=encoder), channels, 2).net.encoder


def _images():
    rng = np.random.default_rng(0)
    mask = np.zeros((32, 32), np.uint8)
    mask[8:20, 10:22] = 1
    image = (mask[..., None] * [120, 60, 30] + rng.integers(0, 40, (32, 32, 3))).astype(np.uint8)
    style = (rng.integers(0, 40, (40, 40, 3)) + [30, 90, 180]).astype(np.uint8)
    return image, mask, style


def _distance(a, b):
    a, b = a.reshape(-1, 3).astype(float), b.reshape(-1, 3).astype(float)
    return np.abs(a.mean(0) - b.mean(0)).sum()


@pytest.mark.parametrize("name", ["fda", "adain"])
def test_style_moves_colour_statistics_towards_the_style(name):
    image, mask, style = _images()
    kept = mask.copy()
    out = apply_style(name, image, style)
    assert out.shape == image.shape and out.dtype == image.dtype
    assert _distance(out, style) < 0.5 * _distance(image, style)
    np.testing.assert_array_equal(mask, kept)  # the mask is never an input, never changed


def test_fda_keeps_the_objects_where_they_are():
    image, mask, style = _images()
    out = fda(image, style).astype(float).mean(axis=2)
    inside, outside = out[mask == 1].mean(), out[mask == 0].mean()
    assert inside > outside + 20  # the object is still brighter than its surround


def test_adain_is_repeatable_and_works_on_grey():
    image, _, style = _images()
    grey, sgrey = image[..., 0], style[..., 2]
    a, b = adain(grey, sgrey, seed=1, steps=10), adain(grey, sgrey, seed=1, steps=10)
    np.testing.assert_array_equal(a, b)
    assert a.shape == grey.shape


def test_none_returns_the_image_and_bad_input_is_refused():
    image, _, style = _images()
    np.testing.assert_array_equal(apply_style("none", image, style), image)
    assert set(STYLES) == {"fda", "adain", "adain_encoder", "none"}
    with pytest.raises(NoisyFixError, match="unknown style 'vgg'"):
        apply_style("vgg", image, style)
    with pytest.raises(NoisyFixError, match="s.png: style image has 1 channels, image 3"):
        fda(image, style[..., 0], where="s.png")


@pytest.mark.parametrize("name", ["resnet18", "mobilenetv3_small"])
def test_adain_encoder_keeps_the_mask_and_moves_statistics_towards_the_style(name):
    image, mask, style = _images()
    kept = mask.copy()
    encoder = _encoder(encoder=name)
    out = apply_style("adain_encoder", image, style, encoder=encoder)
    assert out.shape == image.shape and out.dtype == image.dtype
    assert _distance(out, style) < 0.5 * _distance(image, style)
    np.testing.assert_array_equal(mask, kept)
    again = apply_style("adain_encoder", image, style, encoder=encoder)
    np.testing.assert_array_equal(out, again)  # repeatable
    assert not any(p.requires_grad for p in encoder.parameters())  # the model is not trained
    far = [_feature_gap(encoder, x, style, k) for x in (image, out) for k in (1, 2)]
    assert far[2] < far[0] and far[3] < far[1]  # the encoder's own statistics moved too


def _feature_gap(encoder, image, style, stage):
    """Distance between the per-channel mean and std of an encoder stage on two images (both
    standardised by the same constants, as the style transfer feeds them)."""
    import torch

    x = [
        torch.from_numpy(np.moveaxis(a.astype(np.float32) / 255, -1, 0)[None])
        for a in (image, style)
    ]
    with torch.no_grad():
        f = [encoder((t - 0.4) / 0.25)[stage] for t in x]
    stats = [torch.cat([g.mean(dim=(2, 3)), g.std(dim=(2, 3))]) for g in f]
    return float((stats[0] - stats[1]).abs().mean())


def test_adain_encoder_refuses_a_missing_or_mismatched_encoder():
    image, _, style = _images()
    with pytest.raises(NoisyFixError, match="g.png: style adain_encoder needs a trained model"):
        apply_style("adain_encoder", image, style, where="g.png")
    with pytest.raises(
        NoisyFixError, match="g.png: the encoder reads 1 channel.s., the image has 3"
    ):
        apply_style("adain_encoder", image, style, where="g.png", encoder=_encoder(channels=1))
