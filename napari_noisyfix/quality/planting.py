"""Errors planted in a copy of a mask, for the per-project calibration.

Every type of the noise catalogue (:mod:`napari_noisyfix.synth.noise`: the protocol's dilation,
erosion, affine shift, dropped objects and added blobs, and the annotator-style types of
:mod:`napari_noisyfix.synth.annotator_noise`) is planted with equal probability, with sizes drawn
relative to the mask's own objects and over a wide range: the calibration must see small errors
as well as large ones, whatever the project's resolution. Two thirds of the errors are drawn on the
mask upsampled two- or four-fold and sampled back, as by an annotator who drew at a finer
resolution than the one the model judges (images are often shrunk for training): outlines then
move by less than a pixel, thin rings break into pieces.
Masks with several classes keep their classes: added pixels take the class of the nearest
labelled pixel.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..instance_labels import reconcile, semantic
from ..synth import annotator_noise, instance_noise
from ..synth.annotator_noise import REALISTIC_KINDS, median_radius
from ..synth.noise import KINDS, add_blobs, affine, applies, dilate, drop, erode
from .params import PARAMS, CalibrationParams

PLANT_KINDS = KINDS + REALISTIC_KINDS


def plant(
    mask: np.ndarray, rng: np.random.Generator, params: CalibrationParams = PARAMS.calibration
) -> tuple[np.ndarray, str | None]:
    """A copy of ``mask`` with one planted error of a random type, and that type, with the sizes
    and resolutions of ``params``.

    Returns ``(mask, None)`` when no type applies (no foreground) or the drawn one changed
    nothing.
    """
    mask = np.asarray(mask)
    fg = mask > 0
    kinds = [k for k in PLANT_KINDS if applies(k, fg)]
    if not kinds:
        return mask, None
    kind = kinds[int(rng.integers(len(kinds)))]
    scales = params.scales
    scale = scales[int(rng.integers(len(scales)))]
    fine = np.kron(fg, np.ones((scale, scale), bool)) if scale > 1 else fg
    new = _transform(kind, fine, rng, params)[scale // 2 :: scale, scale // 2 :: scale]
    if np.array_equal(new, fg):
        return mask, None
    return _with_classes(mask, fg, new), kind


def plant_instances(
    ids: np.ndarray, rng: np.random.Generator, params: CalibrationParams = PARAMS.calibration
) -> tuple[np.ndarray, str | None]:
    """A copy of an instance mask (object ids) with one planted error, and its type: ``merge``
    or ``split`` (one pair, one object) as often as each type of :func:`plant`, which plants
    the others in the union (the ids carried over)."""
    ids = np.asarray(ids, dtype=np.uint16)
    kinds = [k for k in instance_noise.INSTANCE_KINDS if instance_noise.applies(k, ids)]
    if rng.random() < len(kinds) / (len(kinds) + len(PLANT_KINDS)):
        kind = kinds[int(rng.integers(len(kinds)))]
        new, _ = (instance_noise.merge if kind == "merge" else instance_noise.split)(ids, rng, 1)
        return (new, kind) if not np.array_equal(new, ids) else (ids, None)
    planted, kind = plant(semantic(ids), rng, params)
    return (ids, None) if kind is None else (reconcile(ids, planted), kind)


def _transform(kind: str, fg: np.ndarray, rng: np.random.Generator, p: CalibrationParams):
    if kind in ("dilate", "erode"):
        radius = float(rng.uniform(1.0, max(1.5, p.morph_share * median_radius(fg))))
        return dilate(fg, radius) if kind == "dilate" else erode(fg, radius)
    if kind == "affine":
        angle = float(rng.uniform(-p.max_angle, p.max_angle))
        shift = rng.uniform(-p.max_shift, p.max_shift, size=2) * np.array(fg.shape)
        return affine(fg, angle, shift)
    if kind == "drop":
        return drop(fg, rng, float(rng.uniform(0.3, 0.5)))
    if kind == "add":
        return add_blobs(fg, rng, int(rng.integers(1, 4)))
    return annotator_noise.corrupt(kind, fg, rng)[0]


def _with_classes(mask: np.ndarray, fg: np.ndarray, new: np.ndarray) -> np.ndarray:
    """``new`` foreground with the classes of ``mask``: kept pixels keep theirs, added pixels
    take the nearest labelled pixel's."""
    if mask.max() <= 1:
        return new.astype(mask.dtype)
    _, (ri, ci) = ndi.distance_transform_edt(~fg, return_indices=True)
    return np.where(new, mask[ri, ci], 0).astype(mask.dtype)
