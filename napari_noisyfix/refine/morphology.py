"""Binary morphology on a proposal: opening, closing, hole filling, small objects and holes.

Sizes of objects and holes are given in pixels or as a fraction of the image (or crop) area,
chosen by the ``unit`` parameter. Everything is scikit-image / scipy.ndimage.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage import morphology

from ._arrays import size_in_pixels
from .registry import Param, register

_RADIUS = Param("radius", int, 2, 0, 50, "radius of the disk footprint in pixels")
_UNIT = Param("unit", str, "px", help="size in pixels or as a fraction of the image area",
              choices=("px", "fraction"))  # fmt: skip


def _size(default: float) -> Param:
    return Param("size", float, default, 0.0, 1e9, "largest size removed (see unit)")


def opening(mask: np.ndarray, radius: int = 2) -> np.ndarray:
    """Binary opening with a disk: removes specks and thin spurs narrower than the disk.

    The image border reflects, so objects cut by a crop's edge are not eaten by it.
    """
    return morphology.opening(mask, morphology.disk(radius)) if radius else mask.copy()


def closing(mask: np.ndarray, radius: int = 2) -> np.ndarray:
    """Binary closing with a disk: closes gaps and notches narrower than the disk."""
    return morphology.closing(mask, morphology.disk(radius)) if radius else mask.copy()


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill every hole (background not connected to the image border)."""
    return ndi.binary_fill_holes(mask)


def remove_small_objects(mask: np.ndarray, size: int) -> np.ndarray:
    """Remove connected objects of at most ``size`` pixels (8-connectivity)."""
    return morphology.remove_small_objects(mask.astype(bool), max_size=size, connectivity=2)


def remove_small_holes(mask: np.ndarray, size: int) -> np.ndarray:
    """Fill holes of at most ``size`` pixels (4-connected background components)."""
    return morphology.remove_small_holes(mask.astype(bool), max_size=size, connectivity=1)


def clean(mask: np.ndarray, radius: int, object_size: int, hole_size: int) -> np.ndarray:
    """Remove specks, fill pinholes, then open and close: a one-step tidy of a noisy mask."""
    out = remove_small_objects(mask, object_size)
    out = remove_small_holes(out, hole_size)
    return closing(opening(out, radius), radius)


@register("opening", "refine", [_RADIUS])
def _opening_tool(image, mask, probs, radius):
    """Opening: remove specks and spurs narrower than a disk."""
    return opening(mask, radius)


@register("closing", "refine", [_RADIUS])
def _closing_tool(image, mask, probs, radius):
    """Closing: close gaps and notches narrower than a disk."""
    return closing(mask, radius)


@register("fill_holes", "refine", [])
def _fill_holes_tool(image, mask, probs):
    """Fill every hole inside the objects."""
    return fill_holes(mask)


@register("remove_small_objects", "refine", [_size(64.0), _UNIT])
def _small_objects_tool(image, mask, probs, size, unit):
    """Remove objects up to a size (pixels or fraction of the image)."""
    return remove_small_objects(mask, size_in_pixels(size, unit, mask.shape))


@register("remove_small_holes", "refine", [_size(64.0), _UNIT])
def _small_holes_tool(image, mask, probs, size, unit):
    """Fill holes up to a size (pixels or fraction of the image)."""
    return remove_small_holes(mask, size_in_pixels(size, unit, mask.shape))


@register(
    "clean",
    "refine",
    [
        Param("radius", int, 1, 0, 50, "opening/closing disk radius in pixels"),
        Param("object_size", float, 0.002, 0.0, 1e9, "largest speck removed (see unit)"),
        Param("hole_size", float, 0.002, 0.0, 1e9, "largest hole filled (see unit)"),
        Param(
            "unit",
            str,
            "fraction",
            help="sizes in pixels or as a fraction of the image area",
            choices=("px", "fraction"),
        ),  # fmt: skip
    ],
)
def _clean_tool(image, mask, probs, radius, object_size, hole_size, unit):
    """Clean: remove specks, fill small holes, open and close."""
    n_obj = size_in_pixels(object_size, unit, mask.shape)
    n_hole = size_in_pixels(hole_size, unit, mask.shape)
    return clean(mask, radius, n_obj, n_hole)
