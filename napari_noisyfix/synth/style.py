"""Style transfer from a real image onto a generated one; the generated mask is never touched.

Nothing here downloads weights (the usual VGG features would need them). Three methods, registered
in :data:`STYLES`:

- ``fda``, Fourier domain adaptation (Yang & Soatto, CVPR 2020): the lowest spatial frequencies of
  the amplitude spectrum (overall brightness, colour cast, stain and illumination gradients) are
  taken from the style image, the phase (where the edges and objects are) stays the generated
  image's. That is exactly the part of "style" that differs between acquisitions while the
  objects, hence the mask, stay where they are; it needs no network at all.
- ``adain``, feature statistics of a randomly initialised convolutional network: the image is
  optimised so that the per-channel mean and standard deviation of the pixels and of each layer's
  features match the style image's (AdaIN statistics, Huang & Belongie 2017), while its deepest
  features stay close to the AdaIN-renormalised features of the generated image. Random
  convolutional features capture texture statistics nearly as well as trained ones (He, Wang &
  Hopcroft, NeurIPS 2016; Ulyanov et al. 2017), so no trained encoder is needed.
- ``adain_encoder``, the same optimisation on the features of the project's own trained encoder
  (the segmentation network's first stages). Those are the features the segmentation model reads,
  trained on this modality's images: matching their statistics moves the generated image towards
  what the model sees in real images, where random or ImageNet features weigh textures the model
  may ignore. It needs a trained model, which a project has after ``noisyfix train`` and which
  downloads nothing.

All return an image of the generated image's shape and dtype; the mask is passed through as is.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from skimage.transform import resize

from ..errors import NoisyFixError


def _as_float(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image, dtype=np.float64)
    return arr[..., None] if arr.ndim == 2 else arr


def _like(out: np.ndarray, image: np.ndarray) -> np.ndarray:
    """``out`` (H, W, C) float back to the shape and dtype of ``image`` (clipped to its range)."""
    image = np.asarray(image)
    out = out[..., 0] if image.ndim == 2 else out
    if image.dtype.kind in "iu":
        info = np.iinfo(image.dtype)
        out = np.round(out).clip(info.min, info.max)
    return out.astype(image.dtype)


def _style_like(style: np.ndarray, image: np.ndarray, where: str) -> np.ndarray:
    """The style image as float (H, W, C) at the image's size; channels must agree."""
    s, x = _as_float(style), _as_float(image)
    if s.shape[2] != x.shape[2]:
        raise NoisyFixError(f"{where}: style image has {s.shape[2]} channels, image {x.shape[2]}")
    if s.shape[:2] != x.shape[:2]:
        s = resize(s, x.shape, order=1, anti_aliasing=True, preserve_range=True)
    return s


def fda(
    image: np.ndarray, style: np.ndarray, beta: float = 0.05, where: str = "style"
) -> np.ndarray:
    """Fourier domain adaptation: swap the low-frequency amplitudes of ``image`` for ``style``'s.

    Parameters
    ----------
    image, style : ndarray
        (H, W) or (H, W, 3); the style image is resized to the image's size.
    beta : float
        Half-side of the swapped square of frequencies, as a share of the shorter side.
    """
    x, s = _as_float(image), _style_like(style, image, where)
    h, w = x.shape[:2]
    b = max(1, int(np.floor(min(h, w) * beta)))
    fx = np.fft.fftshift(np.fft.fft2(x, axes=(0, 1)), axes=(0, 1))
    fs = np.fft.fftshift(np.fft.fft2(s, axes=(0, 1)), axes=(0, 1))
    amp, phase = np.abs(fx), np.angle(fx)
    cy, cx = h // 2, w // 2
    win = (slice(cy - b, cy + b + 1), slice(cx - b, cx + b + 1))
    amp[win] = np.abs(fs)[win]
    out = np.fft.ifft2(np.fft.ifftshift(amp * np.exp(1j * phase), axes=(0, 1)), axes=(0, 1))
    return _like(out.real, image)


def adain(
    image: np.ndarray,
    style: np.ndarray,
    seed: int = 0,
    steps: int = 60,
    width: int = 32,
    layers: int = 3,
    content_weight: float = 1.0,
    where: str = "style",
    encoder=None,
) -> np.ndarray:
    """Match AdaIN statistics of convolutional features to ``style``'s.

    Parameters
    ----------
    image, style : ndarray
        (H, W) or (H, W, 3); the style image is resized to the image's size.
    seed : int
        Seed of the random network (the same seed gives the same result).
    steps : int
        Adam steps on the image's pixels.
    width, layers : int
        Channels and number of the random network's 3x3 convolution + ReLU layers; with
        ``encoder``, ``layers`` is the number of its stages used.
    content_weight : float
        Weight of keeping the deepest features at their AdaIN target.
    encoder : torch.nn.Module, optional
        A trained smp encoder (``SegNet.net.encoder``) instead of the random network; it is fed
        the pixels standardised by the pair's joint mean and deviation, as training standardised
        each image (:func:`~napari_noisyfix.model.data.normalize_image`).
    """
    import torch

    from ..model.device import seed_everything

    x, s = _as_float(image), _style_like(style, image, where)
    lo, hi = min(x.min(), s.min()), max(x.max(), s.max())
    span = hi - lo if hi > lo else 1.0
    xt, st = _tensor(x, lo, span), _tensor(s, lo, span)
    seed_everything(seed)
    if encoder is None:
        features = partial(_features, _random_net(x.shape[2], width, layers))
    else:
        features = _encoder_features(encoder, torch.cat([xt, st]), layers, where)
    with torch.no_grad():
        style_stats = [_stats(f) for f in features(st)]
        target = _adain_target(features(xt)[-1], style_stats[-1])
    out = xt.clone().requires_grad_(True)
    opt = torch.optim.Adam([out], lr=0.02)
    for _ in range(steps):
        feats = features(out)
        loss = sum(_stat_loss(_stats(f), st_) for f, st_ in zip(feats, style_stats, strict=True))
        loss = loss + content_weight * torch.mean((feats[-1] - target) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    arr = np.moveaxis(out.detach()[0].numpy().astype(np.float64), 0, -1) * span + lo
    return _like(arr, image)


def adain_encoder(image: np.ndarray, style: np.ndarray, encoder=None, **kwargs) -> np.ndarray:
    """:func:`adain` on a trained encoder's features (``encoder`` required)."""
    if encoder is None:
        raise NoisyFixError(
            f"{kwargs.get('where', 'style')}: style adain_encoder needs a trained model; "
            "run noisyfix train first"
        )
    return adain(image, style, encoder=encoder, **kwargs)


def _encoder_features(encoder, both, layers: int, where: str):
    """A function: pixels (about [0, 1]) -> the pixels and the first ``layers`` encoder stages,
    on the encoder's device and in eval mode with gradients off its weights."""
    import torch

    conv = next(m for m in encoder.modules() if isinstance(m, torch.nn.Conv2d))
    if conv.in_channels != both.shape[1]:
        raise NoisyFixError(
            f"{where}: the encoder reads {conv.in_channels} channel(s), the image has "
            f"{both.shape[1]}"
        )
    encoder.eval().requires_grad_(False)
    mean, std = both.mean(), both.std().clamp_min(1e-6)
    device = conv.weight.device

    def features(t):
        stages = encoder(((t - mean) / std).to(device))[1 : 1 + layers]
        return [t, *(f.cpu() for f in stages)]

    return features


def _tensor(arr: np.ndarray, lo: float, span: float):
    """(1, C, H, W) float32 tensor of an (H, W, C) array scaled to about [0, 1]."""
    import torch

    return torch.from_numpy(np.moveaxis((arr - lo) / span, -1, 0)[None].astype(np.float32))


def _random_net(channels: int, width: int, layers: int):
    """Fixed, randomly initialised 3x3 conv + ReLU layers (Kaiming init), gradients off."""
    from torch import nn

    convs = []
    for k in range(layers):
        conv = nn.Conv2d(channels if k == 0 else width, width, 3, padding=1, padding_mode="reflect")
        nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
        nn.init.zeros_(conv.bias)
        convs.append(conv.requires_grad_(False))
    return convs


def _features(net, x) -> list:
    """The pixels themselves, then every layer's features (the pixels carry the colour)."""
    import torch

    out, h = [x], x
    for conv in net:
        h = torch.relu(conv(h))
        out.append(h)
    return out


def _stats(f):
    return f.mean(dim=(2, 3)), f.std(dim=(2, 3)) + 1e-6


def _stat_loss(a, b):
    return ((a[0] - b[0]) ** 2).mean() + ((a[1] - b[1]) ** 2).mean()


def _adain_target(f, style_stats):
    mean, std = _stats(f)
    return (f - mean[..., None, None]) / std[..., None, None] * style_stats[1][
        ..., None, None
    ] + style_stats[0][..., None, None]


#: Style transfer methods by name (``none`` leaves the image as generated).
STYLES = {"fda": fda, "adain": adain, "adain_encoder": adain_encoder, "none": None}
#: The methods that need a trained encoder (``encoder`` of :func:`apply_style`).
NEEDS_ENCODER = ("adain_encoder",)


def apply_style(
    name: str, image: np.ndarray, style: np.ndarray, where: str = "style", encoder=None
) -> np.ndarray:
    """``image`` in the style of ``style`` by method ``name`` (see :data:`STYLES`);
    ``encoder`` is the trained encoder of the methods in :data:`NEEDS_ENCODER`."""
    if name not in STYLES:
        raise NoisyFixError(f"unknown style {name!r}; choose from {', '.join(STYLES)}")
    if STYLES[name] is None:
        return np.asarray(image)
    extra = {"encoder": encoder} if name in NEEDS_ENCODER else {}
    return STYLES[name](image, style, where=where, **extra)
