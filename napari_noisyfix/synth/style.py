"""Style transfer from a real image onto a generated one; the generated mask is never touched.

Nothing here downloads weights (the usual VGG features would need them). Two methods, registered
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

Both return an image of the generated image's shape and dtype; the mask is passed through as is.
"""

from __future__ import annotations

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
) -> np.ndarray:
    """Match AdaIN statistics of a random convolutional network's features to ``style``'s.

    Parameters
    ----------
    image, style : ndarray
        (H, W) or (H, W, 3); the style image is resized to the image's size.
    seed : int
        Seed of the random network (the same seed gives the same result).
    steps : int
        Adam steps on the image's pixels.
    width, layers : int
        Channels and number of the random network's 3x3 convolution + ReLU layers.
    content_weight : float
        Weight of keeping the deepest features at their AdaIN target.
    """
    import torch

    from ..model.device import seed_everything

    x, s = _as_float(image), _style_like(style, image, where)
    lo, hi = min(x.min(), s.min()), max(x.max(), s.max())
    span = hi - lo if hi > lo else 1.0
    xt, st = _tensor(x, lo, span), _tensor(s, lo, span)
    seed_everything(seed)
    net = _random_net(x.shape[2], width, layers)
    with torch.no_grad():
        style_stats = [_stats(f) for f in _features(net, st)]
        target = _adain_target(_features(net, xt)[-1], style_stats[-1])
    out = xt.clone().requires_grad_(True)
    opt = torch.optim.Adam([out], lr=0.02)
    for _ in range(steps):
        feats = _features(net, out)
        loss = sum(_stat_loss(_stats(f), st_) for f, st_ in zip(feats, style_stats, strict=True))
        loss = loss + content_weight * torch.mean((feats[-1] - target) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    arr = np.moveaxis(out.detach()[0].numpy().astype(np.float64), 0, -1) * span + lo
    return _like(arr, image)


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
STYLES = {"fda": fda, "adain": adain, "none": None}


def apply_style(
    name: str, image: np.ndarray, style: np.ndarray, where: str = "style"
) -> np.ndarray:
    """``image`` in the style of ``style`` by method ``name`` (see :data:`STYLES`)."""
    if name not in STYLES:
        raise NoisyFixError(f"unknown style {name!r}; choose from {', '.join(STYLES)}")
    return np.asarray(image) if STYLES[name] is None else STYLES[name](image, style, where=where)
