"""Synthetic medical-looking gray images with known true masks.

Two looks, both gray ``uint8`` with a binary ``uint8`` truth:

- ``"nuclei"``: a fluorescence-like field of many small bright nuclei with irregular outlines;
- ``"lesion"``: one to three larger lesions on a textured tissue background (ultrasound/CT-like).

Each image gets textured object interiors, an uneven illumination field, optical blur and
Poisson-Gaussian sensor noise. Everything is vectorised numpy/scipy; objects never overlap, so
every object is one connected component of the truth.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..errors import NoisyFixError

LOOKS = ("nuclei", "lesion")


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise rescaled to [0, 1]."""
    field = ndi.gaussian_filter(rng.standard_normal(shape), sigma)
    lo, hi = field.min(), field.max()
    return (field - lo) / (hi - lo) if hi > lo else np.zeros(shape)


def blob_mask(
    shape: tuple[int, int],
    centre: tuple[float, float],
    radius: float,
    rng: np.random.Generator,
    roughness: float = 0.15,
) -> np.ndarray:
    """A star-shaped blob: an ellipse whose radius wobbles with a few low harmonics."""
    rr, cc = np.ogrid[: shape[0], : shape[1]]
    dr, dc = rr - centre[0], cc - centre[1]
    theta = np.arctan2(dr, dc)
    elong = rng.uniform(0.7, 1.0)
    tilt = rng.uniform(0, np.pi)
    base = radius / np.sqrt(
        (np.cos(theta - tilt) ** 2) / 1.0 + (np.sin(theta - tilt) ** 2) / elong**2
    )
    harmonics = np.arange(2, 6)[:, None, None]
    amps = rng.normal(0, roughness / 2, size=(4, 1, 1))
    phases = rng.uniform(0, 2 * np.pi, size=(4, 1, 1))
    wobble = 1.0 + (amps * np.cos(harmonics * theta[None] + phases)).sum(axis=0)
    return np.hypot(dr, dc) <= base * np.clip(wobble, 0.6, 1.4)


def _place_blobs(
    rng: np.random.Generator, size: int, count: int, radius_range: tuple[float, float]
) -> np.ndarray:
    """Label image of up to ``count`` non-touching blobs (rejection sampling)."""
    labels = np.zeros((size, size), dtype=np.int32)
    k = 0
    for _ in range(count * 6):
        if k == count:
            break
        radius = rng.uniform(*radius_range)
        centre = rng.uniform(radius, size - radius, size=2)
        # the blob reaches at most 1.4 radius from its centre: draw it in a window around it
        half = int(np.ceil(1.4 * radius)) + 3
        r0, c0 = (max(0, int(c) - half) for c in centre)
        window = (slice(r0, int(centre[0]) + half + 1), slice(c0, int(centre[1]) + half + 1))
        local = labels[window]
        blob = blob_mask(local.shape, (centre[0] - r0, centre[1] - c0), radius, rng)
        if not blob.any() or (ndi.binary_dilation(blob, iterations=2) & (local > 0)).any():
            continue
        k += 1
        local[blob] = k
    return labels


def _illumination(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth multiplicative field between about 0.55 and 1.0 (vignetting plus a gradient)."""
    yy, xx = np.mgrid[0:size, 0:size] / max(size - 1, 1) - 0.5
    cy, cx = rng.uniform(-0.3, 0.3, size=2)
    vignette = 1.0 - 0.8 * ((yy - cy) ** 2 + (xx - cx) ** 2)
    gy, gx = rng.uniform(-0.25, 0.25, size=2)
    return np.clip(vignette * (1.0 + gy * yy + gx * xx), 0.55, 1.0)


def _finish(
    rng: np.random.Generator, clean: np.ndarray, size: int, blur: float, photons: float
) -> np.ndarray:
    """Illumination, blur and Poisson-Gaussian noise, then uint8."""
    signal = ndi.gaussian_filter(clean * _illumination(rng, size), blur)
    noisy = rng.poisson(np.clip(signal, 0, None) * photons) / photons
    noisy = noisy + rng.normal(0, 0.02, size=noisy.shape)
    return (np.clip(noisy, 0, 1) * 255).round().astype(np.uint8)


def _nuclei(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    scale = size / 256
    labels = _place_blobs(rng, size, int(rng.integers(8, 20)), (7 * scale + 2, 16 * scale + 2))
    brightness = np.concatenate([[0.0], rng.uniform(0.45, 0.9, size=labels.max())])
    chromatin = 0.75 + 0.25 * smooth_noise(rng, (size, size), 1.2 * scale + 0.5)
    clean = 0.06 + brightness[labels] * chromatin
    return _finish(rng, clean, size, blur=1.0 * scale + 0.3, photons=120.0), labels > 0


def _lesion(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
    scale = size / 256
    labels = _place_blobs(rng, size, int(rng.integers(1, 4)), (22 * scale + 3, 45 * scale + 3))
    tissue = 0.35 + 0.25 * smooth_noise(rng, (size, size), 6 * scale + 1)
    speckle = 0.85 + 0.3 * smooth_noise(rng, (size, size), 0.8 * scale + 0.3)
    contrast = np.concatenate([[0.0], rng.choice([-1, 1], size=labels.max()) * 0.22])
    core = 0.8 + 0.2 * smooth_noise(rng, (size, size), 3 * scale + 0.5)
    clean = (tissue + contrast[labels] * core) * speckle
    return _finish(rng, clean, size, blur=1.5 * scale + 0.5, photons=200.0), labels > 0


def make_phantom(
    rng: np.random.Generator, size: int = 256, look: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic gray image and its true binary mask.

    Parameters
    ----------
    rng : numpy.random.Generator
        Fixes the result.
    size : int
        Side of the square image in pixels (at least 32).
    look : {"nuclei", "lesion"}, optional
        Drawn at random (nuclei twice as often) when omitted.

    Returns
    -------
    image : ndarray
        uint8 (size, size).
    truth : ndarray
        uint8 0/1 (size, size); every object is one 8-connected component.
    """
    if size < 32:
        raise NoisyFixError(f"phantom size {size} is too small (at least 32 px)")
    if look is None:
        look = LOOKS[int(rng.random() < 1 / 3)]
    if look not in LOOKS:
        raise NoisyFixError(f"unknown phantom look {look!r}; choose one of {', '.join(LOOKS)}")
    image, truth = (_nuclei if look == "nuclei" else _lesion)(rng, size)
    return image, truth.astype(np.uint8)
