"""Annotator-style label noise: our documented extension of the benchmark's noise protocol.

The protocol's four categories (:mod:`.noise`) are the literature's; these seven types mimic how
people annotate badly. Sizes are relative to the median equivalent radius ``R`` of the mask's
objects (8-connected), so the defaults work at any resolution. Defaults of the draws:

- ``markov``: the boundary Markov process of Yao et al., ICLR 2023, in their ISIC setting
  ``T = 200``, ``theta1 = 0.8``, ``theta2 = 0.05``, ``theta3 = 0.2``, 5x5 Gaussian (sigma 2);
- ``polygon``: each object replaced by a polygon of ``U{5..8}`` vertices at even arc length along
  its outline (fewer for tiny objects, edges of at least 4 px), as with click annotation;
- ``jitter``: outlines moved smoothly in and out (freehand tracing), amplitude
  ``max(1.5 px, U[0.08, 0.2] R)``, correlation length ``max(2 px, U[0.3, 0.6] R)``;
- ``holes``: interiors left unfilled in a share ``U[0.5, 1]`` of the objects that can hold a
  hole, ring width ``max(1.5 px, U[0.15, 0.35] r)`` for an object of radius ``r``;
- ``merge``: near objects joined, pairs within ``max(3 px, U[0.3, 0.6] R)`` (widened to the
  closest pair when needed), a share ``U[0.3, 0.6]`` of them (at least one);
- ``miss_small``: a share ``U[0.2, 0.4]`` of the objects skipped (at least one, never all),
  chosen with probability proportional to ``1 / area``;
- ``partial``: all foreground removed in a band of rows, a band of columns or a rectangle (each
  a third of the time) covering ``U[0.25, 0.5]`` of the foreground's bounding box.

The transforms themselves are pure functions in :mod:`.annotator_shapes` and
:mod:`.annotator_objects`, re-exported here; :func:`draw_params` holds the protocol's parameter
draws and :func:`corrupt` applies one type with them.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from ..errors import NoisyFixError
from .annotator_objects import (
    REGION_SHAPES,
    merge,
    miss_small,
    pair_gaps,
    partial,
    partial_region,
)
from .annotator_shapes import components, holes, jitter, markov, median_radius, polygon

REALISTIC_KINDS = ("markov", "polygon", "jitter", "holes", "merge", "miss_small", "partial")
MARKOV = {"steps": 200, "theta1": 0.8, "theta2": 0.05, "theta3": 0.2, "sigma": 2.0}
POLYGON_VERTICES = (5, 8)
POLYGON_MIN_EDGE = 4.0
POLYGON_MIN_AREA = 16
JITTER_AMPLITUDE = (0.08, 0.2)
JITTER_CORRELATION = (0.3, 0.6)
HOLES_SHARE = (0.5, 1.0)
HOLES_WIDTH = (0.15, 0.35)
HOLES_MIN_WIDTH = 1.5
MERGE_GAP = (0.3, 0.6)
MERGE_MIN_GAP = 3.0
MERGE_SHARE = (0.3, 0.6)
MISS_SHARE = (0.2, 0.4)
PARTIAL_SHARE = (0.25, 0.5)


def _max_merge_gap(fg: np.ndarray) -> float:
    return max(MERGE_MIN_GAP, MERGE_GAP[1] * median_radius(fg))


def _closest_gap(fg: np.ndarray) -> float | None:
    """Gap of the closest pair of objects within the largest drawable gap (None without one)."""
    labels, n = components(fg)
    gaps = pair_gaps(labels, n, _max_merge_gap(fg)) if n > 1 else {}
    return min(gaps.values()) if gaps else None


def applies(kind: str, fg: np.ndarray) -> bool:
    """Whether the annotator noise type ``kind`` can change the bool mask ``fg``.

    Every type needs foreground; ``polygon`` an object of at least 16 px, ``holes`` an object
    deep enough for a ring of 1.5 px, ``merge`` two objects within its largest gap,
    ``miss_small`` two objects.
    """
    if not fg.any():
        return False
    if kind == "polygon":
        labels, _ = components(fg)
        return int(np.bincount(labels.ravel())[1:].max()) >= POLYGON_MIN_AREA
    if kind == "holes":
        return float(ndi.distance_transform_edt(fg).max()) >= HOLES_MIN_WIDTH + 1.0
    if kind == "merge":
        return _closest_gap(fg) is not None
    if kind == "miss_small":
        return components(fg)[1] >= 2
    return True


def _relative(rng: np.random.Generator, bounds, radius: float, least: float) -> float:
    return round(max(least, float(rng.uniform(*bounds)) * radius), 2)


def _share(rng: np.random.Generator, bounds) -> float:
    return round(float(rng.uniform(*bounds)), 3)


def _draw_merge(fg: np.ndarray, rng: np.random.Generator) -> dict:
    gap = _relative(rng, MERGE_GAP, median_radius(fg), MERGE_MIN_GAP)
    closest = _closest_gap(fg) or 0.0
    gap = max(gap, float(np.ceil(closest * 100.0)) / 100.0)
    return {"gap": gap, "share": _share(rng, MERGE_SHARE)}


def _draw_partial(fg: np.ndarray, rng: np.random.Generator) -> dict:
    share = _share(rng, PARTIAL_SHARE)
    shape = REGION_SHAPES[int(rng.integers(len(REGION_SHAPES)))]
    return {"share": share, "shape": shape, "region": list(partial_region(fg, rng, share, shape))}


def draw_params(kind: str, fg: np.ndarray, rng: np.random.Generator) -> dict:
    """The protocol's draw of the parameters of ``kind`` for the mask ``fg``.

    Returns
    -------
    dict
        JSON-serialisable, already rounded; the keyword arguments of the transform (for
        ``partial`` the drawn ``share`` and ``shape`` beside the ``region``).
    """
    if kind not in REALISTIC_KINDS:
        raise NoisyFixError(f"unknown annotator noise type {kind!r}")
    radius = median_radius(fg)
    if kind == "markov":
        return dict(MARKOV)
    if kind == "polygon":
        count = int(rng.integers(POLYGON_VERTICES[0], POLYGON_VERTICES[1] + 1))
        return {"vertices": count, "min_edge": POLYGON_MIN_EDGE}
    if kind == "jitter":
        amplitude = _relative(rng, JITTER_AMPLITUDE, radius, 1.5)
        return {
            "amplitude": amplitude,
            "correlation": _relative(rng, JITTER_CORRELATION, radius, 2.0),
        }
    if kind == "holes":
        share, width = _share(rng, HOLES_SHARE), _share(rng, HOLES_WIDTH)
        return {"share": share, "width_ratio": width, "min_width": HOLES_MIN_WIDTH}
    if kind == "merge":
        return _draw_merge(fg, rng)
    if kind == "miss_small":
        return {"share": _share(rng, MISS_SHARE)}
    return _draw_partial(fg, rng)


_TRANSFORMS = {
    "markov": markov,
    "polygon": polygon,
    "jitter": jitter,
    "holes": holes,
    "merge": merge,
    "miss_small": miss_small,
}


def corrupt(kind: str, fg: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """Apply the annotator noise type ``kind`` with the protocol's parameter draw.

    Returns
    -------
    noisy : ndarray of bool
    params : dict
        :func:`draw_params` plus ``median_radius`` and ``objects`` (count before, after).
    """
    params = draw_params(kind, fg, rng)
    if kind == "partial":
        out = partial(fg, tuple(params["region"]))
    else:
        out = _TRANSFORMS[kind](fg, rng, **params)
    counts = [components(fg)[1], components(out)[1]]
    return out, {**params, "median_radius": round(median_radius(fg), 2), "objects": counts}


__all__ = [
    "REALISTIC_KINDS",
    "applies",
    "corrupt",
    "draw_params",
    "holes",
    "jitter",
    "markov",
    "median_radius",
    "merge",
    "miss_small",
    "partial",
    "partial_region",
    "polygon",
]
