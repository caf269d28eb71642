"""Training data held in memory: normalised images, working masks, weight maps and trusted pixels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import NoisyFixError
from .config import OUTPUT_STRIDE
from .losses import IGNORE


def normalize_image(image: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) image -> float32 (C, H, W) with zero mean and unit variance per image."""
    arr = np.asarray(image, dtype=np.float32)
    arr = arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)
    std = float(arr.std())
    return np.ascontiguousarray((arr - arr.mean()) / (std if std > 1e-6 else 1.0))


def pad_to(t: torch.Tensor, height: int, width: int, value: float) -> torch.Tensor:
    """Pad the last two axes of ``t`` at the bottom/right to (height, width) with ``value``."""
    dh, dw = height - t.shape[-2], width - t.shape[-1]
    if dh <= 0 and dw <= 0:
        return t
    return F.pad(t, (0, max(dw, 0), 0, max(dh, 0)), value=value)


def round_up(n: int, multiple: int = OUTPUT_STRIDE) -> int:
    """Smallest multiple of ``multiple`` that is >= n."""
    return -(-n // multiple) * multiple


@dataclass
class Sample:
    """One training image: image (C, H, W), mask (H, W) int64, weight (H, W), trusted (H, W) bool;
    ``ids`` (H, W) int64 the object ids of an instance project's image, when asked for."""

    name: str
    image: torch.Tensor
    mask: torch.Tensor
    weight: torch.Tensor
    trusted: torch.Tensor
    ids: torch.Tensor | None = None


def load_samples(
    project,
    names: list[str],
    weights: dict[str, np.ndarray] | None = None,
    trusted: dict[str, np.ndarray] | None = None,
    instance_ids: bool = False,
) -> list[Sample]:
    """Read images, working masks and weight maps of ``names`` from a project.

    Without ``trusted``, every pixel of a clean-subset image is trusted (never filtered or
    pseudo-labelled) and no other pixel is. With ``instance_ids`` each sample also holds the
    working object ids (:meth:`~napari_noisyfix.project.Project.labels` of an instance project).
    """
    samples = []
    for name in names:
        image = torch.from_numpy(normalize_image(project.image(name)))
        mask = torch.from_numpy(project.mask(name).astype(np.int64))
        hw = tuple(mask.shape)
        w = _pixel_map(weights, name, hw, np.float32, 1.0)
        tr = _pixel_map(trusted, name, hw, bool, project.is_clean(name))
        if (w < 0).any() or not torch.isfinite(w).all():
            raise NoisyFixError(f"{name}: weight map holds negative or non-finite values")
        ids = torch.from_numpy(project.labels(name).astype(np.int64)) if instance_ids else None
        samples.append(Sample(name, image, mask, w, tr, ids))
    return samples


def _pixel_map(maps, name, hw, dtype, default) -> torch.Tensor:
    if maps is None or name not in maps:
        return torch.from_numpy(np.full(hw, default, dtype=dtype))
    arr = np.asarray(maps[name], dtype=dtype)
    if arr.shape != hw:
        raise NoisyFixError(f"{name}: pixel map of shape {arr.shape}, expected {hw}")
    return torch.from_numpy(np.ascontiguousarray(arr))


def crop_size(samples: list[Sample], image_size: int | None) -> tuple[int, int]:
    """Training crop (H, W): ``image_size`` square, or the largest image rounded up to 32."""
    if image_size is not None:
        return image_size, image_size
    h = max(s.mask.shape[0] for s in samples)
    w = max(s.mask.shape[1] for s in samples)
    return round_up(h), round_up(w)


def crop_window(rng: np.random.Generator, hw: tuple[int, int], size: tuple[int, int]):
    """A random window of ``size`` inside an image of shape ``hw`` (all of it where smaller)."""
    r = int(rng.integers(max(hw[0] - size[0], 0) + 1))
    c = int(rng.integers(max(hw[1] - size[1], 0) + 1))
    return slice(r, r + size[0]), slice(c, c + size[1])


def crop_sample(rng: np.random.Generator, s: Sample, size: tuple[int, int]) -> list[torch.Tensor]:
    """A random crop of ``size`` (padded where the image is smaller): image, mask, weight, trusted."""
    window = crop_window(rng, tuple(s.mask.shape), size)
    return [
        pad_to(s.image[(slice(None), *window)], *size, 0.0),
        pad_to(s.mask[window], *size, IGNORE),
        pad_to(s.weight[window], *size, 0.0),
        pad_to(s.trusted[window], *size, False),
    ]


def make_batch(
    rng: np.random.Generator, samples: list[Sample], indices: list[int], size: tuple[int, int]
) -> list[torch.Tensor]:
    """Stack random crops of ``samples[indices]``: images, masks, weights, trusted."""
    crops = [crop_sample(rng, samples[i], size) for i in indices]
    return [torch.stack(parts) for parts in zip(*crops, strict=True)]
