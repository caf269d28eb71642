"""Input checks and conversions shared by every refinement tool."""

from __future__ import annotations

import numpy as np

from ..errors import NoisyFixError


def check_image(image: np.ndarray, where: str) -> np.ndarray:
    """Return ``image`` as float32 scaled to [0, 1]: (H, W) gray or (H, W, 3) colour.

    Scaling is by the image's own minimum and maximum (a constant image becomes zeros), so tools
    see the same contrast whether the data arrive as uint8, uint16 or float.
    """
    arr = np.asarray(image)
    shape_ok = arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] == 3)
    if not shape_ok or min(arr.shape[:2], default=0) < 2:
        raise NoisyFixError(
            f"{where}: image shape {arr.shape} is not (H, W) or (H, W, 3), H, W >= 2"
        )
    if arr.dtype.kind not in "buif":
        raise NoisyFixError(f"{where}: image dtype {arr.dtype} is not numeric")
    arr = arr.astype(np.float32)
    if not np.all(np.isfinite(arr)):
        raise NoisyFixError(f"{where}: image holds NaN or infinite values")
    lo, hi = float(arr.min()), float(arr.max())
    return (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)


def to_gray(image: np.ndarray) -> np.ndarray:
    """Mean over colour channels of a checked image (a gray image is returned as is)."""
    return image if image.ndim == 2 else image.mean(axis=2)


def check_mask(mask: np.ndarray, shape: tuple[int, int], where: str) -> np.ndarray:
    """Return ``mask`` as int64 class ids after checking its shape and values."""
    arr = np.asarray(mask)
    if arr.shape != tuple(shape):
        raise NoisyFixError(f"{where}: mask shape {arr.shape} does not match image shape {shape}")
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise NoisyFixError(f"{where}: mask dtype {arr.dtype} is not bool or integer")
    if arr.size and arr.min() < 0:
        raise NoisyFixError(f"{where}: mask holds negative class ids")
    return arr.astype(np.int64)


def check_probs(probs: np.ndarray | None, labels: np.ndarray, where: str) -> np.ndarray | None:
    """Return ``probs`` as float32 (C, H, W) or None; C must cover every class in ``labels``."""
    if probs is None:
        return None
    arr = np.asarray(probs, dtype=np.float32)
    if arr.ndim != 3 or arr.shape[1:] != labels.shape:
        raise NoisyFixError(
            f"{where}: probs shape {arr.shape} is not (C, {labels.shape[0]}, {labels.shape[1]})"
        )
    if arr.shape[0] < max(2, int(labels.max()) + 1):
        raise NoisyFixError(
            f"{where}: probs has {arr.shape[0]} classes but the mask uses class {int(labels.max())}"
        )
    if not np.all(np.isfinite(arr)) or arr.min() < 0:
        raise NoisyFixError(f"{where}: probs hold negative, NaN or infinite values")
    return arr


def check_point(point, shape: tuple[int, int], where: str) -> tuple[int, int] | None:
    """Return a clicked ``(row, col)`` as ints inside ``shape``, or None."""
    if point is None:
        return None
    vals = np.asarray(point).ravel()
    if vals.size != 2 or not np.all(np.isfinite(vals.astype(float))):
        raise NoisyFixError(f"{where}: point {point!r} is not (row, col)")
    r, c = (int(round(float(v))) for v in vals)
    if not (0 <= r < shape[0] and 0 <= c < shape[1]):
        raise NoisyFixError(f"{where}: point {(r, c)} lies outside the image of shape {shape}")
    return r, c


def check_box(box, shape: tuple[int, int], where: str) -> tuple[int, int, int, int]:
    """Return a half-open ``(r0, c0, r1, c1)`` clipped to ``shape``; the whole image if None."""
    if box is None:
        return 0, 0, shape[0], shape[1]
    vals = np.asarray(box).ravel()
    if vals.size != 4:
        raise NoisyFixError(f"{where}: box {box!r} is not (r0, c0, r1, c1)")
    r0, c0, r1, c1 = (int(round(float(v))) for v in vals)
    r0, r1 = max(r0, 0), min(r1, shape[0])
    c0, c1 = max(c0, 0), min(c1, shape[1])
    if r1 - r0 < 2 or c1 - c0 < 2:
        raise NoisyFixError(f"{where}: box {box!r} holds fewer than 2x2 pixels of the image")
    return r0, c0, r1, c1


def size_in_pixels(size: float, unit: str, shape: tuple[int, int]) -> int:
    """Turn a size given in pixels or as a fraction of the image area into pixels."""
    return int(round(size * shape[0] * shape[1])) if unit == "fraction" else int(round(size))


def boundary(mask: np.ndarray) -> np.ndarray:
    """Pixels of ``mask`` with a 4-neighbour outside it (the image border counts as outside)."""
    padded = np.pad(mask, 1)
    inner = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~inner
