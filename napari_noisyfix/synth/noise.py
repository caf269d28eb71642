"""The label-noise protocol of the benchmark: corrupted copies of true binary masks.

Each corrupted mask gets one noise category, drawn uniformly from the four categories of
``BENCHMARK_PROTOCOL.md``:

1. dilation or erosion (50/50) by a Euclidean disk of radius ``r ~ U{3..5}`` px for small
   objects or ``U{7..9}`` px for large objects. Small or large is decided **per image** from the
   median equivalent diameter of its connected components: large when it is at least
   :data:`LARGE_DIAMETER` px;
2. an affine shift: rotation about the image centre by up to +-15 degrees and a translation of up
   to :data:`MAX_SHIFT` of the image side on each axis;
3. dropped objects: a random 30-50 % of the connected components (8-connected) removed, at least one;
4. spurious blobs: 1-3 elliptic blobs of plausible size (the equivalent radius of a random existing
   object, aspect 0.6-1), placed in the background away from existing objects.

Masks are binary (any non-zero pixel is foreground); the output is uint8 0/1. A mask without any
foreground is returned unchanged and logged with type ``"none"``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..errors import NoisyFixError

KINDS = ("dilate", "erode", "affine", "drop", "add")
CATEGORIES = (("dilate", "erode"), ("affine",), ("drop",), ("add",))
LARGE_DIAMETER = 32.0
SMALL_RADII = (3, 5)
LARGE_RADII = (7, 9)
MAX_ANGLE = 15.0
MAX_SHIFT = 0.05
DROP_FRACTION = (0.3, 0.5)
ADD_COUNT = (1, 3)
_EIGHT = np.ones((3, 3), dtype=bool)


def dice(a: np.ndarray, b: np.ndarray) -> float:
    """Dice overlap of two binary masks (1.0 when both are empty)."""
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    total = int(a.sum()) + int(b.sum())
    return 1.0 if total == 0 else 2.0 * float(np.logical_and(a, b).sum()) / total


def _binary(mask: np.ndarray) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise NoisyFixError(f"label noise needs a 2D mask, got shape {mask.shape}")
    return mask > 0


def _components(fg: np.ndarray) -> tuple[np.ndarray, int]:
    labels, n = ndi.label(fg, structure=_EIGHT)
    return labels, int(n)


def _equivalent_radii(labels: np.ndarray, n: int) -> np.ndarray:
    areas = np.bincount(labels.ravel(), minlength=n + 1)[1:]
    return np.sqrt(areas / np.pi)


def object_size(fg: np.ndarray) -> tuple[str, float]:
    """``("small" | "large", median equivalent diameter)`` of the objects in a binary mask."""
    labels, n = _components(fg)
    if n == 0:
        return "small", 0.0
    diameter = float(np.median(2.0 * _equivalent_radii(labels, n)))
    return ("large" if diameter >= LARGE_DIAMETER else "small"), diameter


def _morph(fg: np.ndarray, rng: np.random.Generator, kind: str) -> tuple[np.ndarray, dict]:
    size, diameter = object_size(fg)
    lo, hi = LARGE_RADII if size == "large" else SMALL_RADII
    radius = int(rng.integers(lo, hi + 1))
    if kind == "dilate":
        out = ndi.distance_transform_edt(~fg) <= radius
    else:
        out = ndi.distance_transform_edt(fg) > radius
    params = {"radius": radius, "size": size, "median_diameter": round(diameter, 2)}
    return out, params


def _affine(fg: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    h, w = fg.shape
    angle = float(rng.uniform(-MAX_ANGLE, MAX_ANGLE))
    shift = rng.uniform(-MAX_SHIFT, MAX_SHIFT, size=2) * np.array([h, w])
    theta = np.deg2rad(angle)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    centre = (np.array([h, w]) - 1) / 2.0
    # output o comes from input i = R^T (o - c - t) + c
    inverse = rot.T
    offset = centre - inverse @ (centre + shift)
    out = ndi.affine_transform(fg.astype(np.uint8), inverse, offset=offset, order=0, cval=0)
    params = {"angle": round(angle, 3), "shift": [round(float(s), 3) for s in shift]}
    return out > 0, params


def _drop(fg: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    labels, n = _components(fg)
    fraction = float(rng.uniform(*DROP_FRACTION))
    k = min(n, max(1, int(round(fraction * n))))
    dropped = rng.choice(np.arange(1, n + 1), size=k, replace=False)
    out = fg & ~np.isin(labels, dropped)
    return out, {"fraction": round(fraction, 4), "n_objects": n, "dropped": k}


def _ellipse(shape, centre, axes, angle) -> np.ndarray:
    rr, cc = np.ogrid[: shape[0], : shape[1]]
    dr, dc = rr - centre[0], cc - centre[1]
    cos, sin = np.cos(angle), np.sin(angle)
    u = (dr * cos + dc * sin) / axes[0]
    v = (-dr * sin + dc * cos) / axes[1]
    return u * u + v * v <= 1.0


def _add(fg: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    labels, n = _components(fg)
    radii = np.maximum(_equivalent_radii(labels, n), 2.0)
    out = fg.copy()
    wanted = int(rng.integers(ADD_COUNT[0], ADD_COUNT[1] + 1))
    placed = []
    for _ in range(wanted):
        radius = float(rng.choice(radii))
        aspect = float(rng.uniform(0.6, 1.0))
        axes = (radius / np.sqrt(aspect), radius * np.sqrt(aspect))
        free = ndi.distance_transform_edt(~out) > axes[0] + 2
        margin = int(np.ceil(axes[0]))
        free[:margin], free[-margin:], free[:, :margin], free[:, -margin:] = (False,) * 4
        spots = np.flatnonzero(free)
        if spots.size == 0:
            break
        centre = np.unravel_index(int(rng.choice(spots)), fg.shape)
        out |= _ellipse(fg.shape, centre, axes, float(rng.uniform(0, np.pi)))
        placed.append({"centre": [int(c) for c in centre], "radius": round(radius, 2)})
    return out, {"n_blobs": len(placed), "blobs": placed}


def _apply(fg: np.ndarray, rng: np.random.Generator, kind: str) -> tuple[np.ndarray, dict]:
    if kind in ("dilate", "erode"):
        return _morph(fg, rng, kind)
    if kind == "affine":
        return _affine(fg, rng)
    if kind == "drop":
        return _drop(fg, rng)
    return _add(fg, rng)


def draw_kind(rng: np.random.Generator) -> str:
    """A noise type drawn uniformly over the protocol's four categories (dilate/erode split 50/50)."""
    category = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
    return category[int(rng.integers(len(category)))]


def corrupt_mask(
    mask: np.ndarray, rng: np.random.Generator, kind: str | None = None
) -> tuple[np.ndarray, dict]:
    """Corrupt one binary mask with one noise type of the protocol.

    Parameters
    ----------
    mask : ndarray
        2D mask; any non-zero pixel is foreground.
    rng : numpy.random.Generator
        Source of randomness (fixes the result).
    kind : str, optional
        One of :data:`KINDS`; drawn with :func:`draw_kind` when omitted.

    Returns
    -------
    noisy : ndarray
        uint8 0/1 mask of the same shape.
    info : dict
        ``type`` (the noise type, ``"none"`` for a mask without foreground), ``params``,
        ``dice`` (noisy against the input) and ``changed`` (whether any pixel differs).
    """
    fg = _binary(mask)
    if kind is not None and kind not in KINDS:
        raise NoisyFixError(f"unknown noise type {kind!r}; choose one of {', '.join(KINDS)}")
    kind = kind or draw_kind(rng)
    if not fg.any():
        info = {"type": "none", "params": {"reason": "mask has no foreground"}}
        return fg.astype(np.uint8), {**info, "dice": 1.0, "changed": False}
    out, params = _apply(fg, rng, kind)
    changed = bool(np.any(out != fg))
    return out.astype(np.uint8), {
        "type": kind,
        "params": params,
        "dice": dice(out, fg),
        "changed": changed,
    }


def corrupt_dataset(
    masks: dict[str, np.ndarray],
    fraction: float,
    seed: int = 0,
    protect: set[str] | None = None,
) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Corrupt a fraction of a set of binary masks, reproducibly for a seed.

    Parameters
    ----------
    masks : dict
        True masks by image name.
    fraction : float
        Share ``alpha`` of *all* images to corrupt, in [0, 1]; ``round(alpha * n)`` images are
        drawn among the unprotected ones (fewer if not enough remain).
    seed : int
        Fixes which images are corrupted and how.
    protect : set, optional
        Names that are never corrupted (a trusted clean subset).

    Returns
    -------
    noisy : dict
        uint8 0/1 masks by name (untouched ones are binarised copies).
    log : list of dict
        Per image, sorted by name: ``name``, ``corrupted`` (selected and changed), ``type``
        (``"none"`` when untouched), ``params``, ``dice`` (noisy against truth).
    """
    if not 0.0 <= fraction <= 1.0:
        raise NoisyFixError(f"noise fraction {fraction} is outside [0, 1]")
    names = sorted(masks)
    rng = np.random.default_rng(seed)
    candidates = [n for n in names if n not in (protect or set())]
    k = min(len(candidates), int(round(fraction * len(names))))
    chosen = set(rng.choice(candidates, size=k, replace=False).tolist()) if k else set()
    streams = np.random.SeedSequence(seed).spawn(len(names))
    noisy, log = {}, []
    for name, stream in zip(names, streams, strict=True):
        if name in chosen:
            noisy[name], info = corrupt_mask(masks[name], np.random.default_rng(stream))
        else:
            noisy[name] = _binary(masks[name]).astype(np.uint8)
            info = {"type": "none", "params": {}, "dice": 1.0, "changed": False}
        log.append(
            {
                "name": name,
                "corrupted": info.pop("changed"),
                "type": info["type"],
                "params": info["params"],
                "dice": info["dice"],
            }
        )
    return noisy, log
