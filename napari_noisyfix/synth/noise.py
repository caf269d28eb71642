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

Each type is a pure transform with explicit parameters (:func:`dilate`, :func:`erode`,
:func:`affine`, :func:`drop`, :func:`add_blobs`); the protocol's parameter draws are kept apart,
so other modules can reuse the transforms with their own distributions.

Our extension (``kinds=``): the seven annotator-style types of :mod:`.annotator_noise`
(:data:`REALISTIC_KINDS`), selected with ``"realistic"``, ``"all"`` (11 categories) or by name;
see :func:`parse_kinds`. A drawn type that does not apply to a mask is drawn again among those
that do.

Masks are binary (any non-zero pixel is foreground); the output is uint8 0/1. A mask without any
foreground is returned unchanged and logged with type ``"none"``.

On instance masks (object ids, ``corrupt_dataset(..., instances=True)``) ``merge`` draws
neighbouring objects as one object and ``split`` (instance masks only) one object as two
(:mod:`.instance_noise`, group ``"instance"``); the other types change the union and the ids are
carried over.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage as ndi

from ..errors import NoisyFixError
from . import annotator_noise
from .annotator_noise import REALISTIC_KINDS
from .annotator_shapes import components as _components
from .annotator_shapes import equivalent_radii as _equivalent_radii
from .instance_noise import INSTANCE_KINDS, corrupt_instances
from .instance_noise import applies as instance_applies

KINDS = ("dilate", "erode", "affine", "drop", "add")
CATEGORIES = (("dilate", "erode"), ("affine",), ("drop",), ("add",))
ALL_KINDS = KINDS + REALISTIC_KINDS
REALISTIC_CATEGORIES = tuple((kind,) for kind in REALISTIC_KINDS)
ALL_CATEGORIES = CATEGORIES + REALISTIC_CATEGORIES
INSTANCE_CATEGORIES = tuple((kind,) for kind in INSTANCE_KINDS)
#: Types that need object ids (``merge`` has a binary form too: :mod:`.annotator_noise`).
IDS_ONLY_KINDS = tuple(k for k in INSTANCE_KINDS if k not in ALL_KINDS)
GROUPS = {
    "protocol": CATEGORIES,
    "realistic": REALISTIC_CATEGORIES,
    "all": ALL_CATEGORIES,
    "instance": INSTANCE_CATEGORIES,
}
LARGE_DIAMETER = 32.0
SMALL_RADII = (3, 5)
LARGE_RADII = (7, 9)
MAX_ANGLE = 15.0
MAX_SHIFT = 0.05
DROP_FRACTION = (0.3, 0.5)
ADD_COUNT = (1, 3)


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


def object_size(fg: np.ndarray) -> tuple[str, float]:
    """``("small" | "large", median equivalent diameter)`` of the objects in a binary mask."""
    labels, n = _components(fg)
    if n == 0:
        return "small", 0.0
    diameter = float(np.median(2.0 * _equivalent_radii(labels, n)))
    return ("large" if diameter >= LARGE_DIAMETER else "small"), diameter


def dilate(fg: np.ndarray, radius: float) -> np.ndarray:
    """Dilation by a Euclidean disk.

    Parameters
    ----------
    fg : ndarray of bool
        The mask.
    radius : float
        Disk radius in px: every pixel within ``radius`` of the foreground becomes foreground.

    Returns
    -------
    ndarray of bool
    """
    return ndi.distance_transform_edt(~fg) <= radius


def erode(fg: np.ndarray, radius: float) -> np.ndarray:
    """Erosion by a Euclidean disk.

    Parameters
    ----------
    fg : ndarray of bool
        The mask.
    radius : float
        Disk radius in px: only pixels farther than ``radius`` from the background stay.

    Returns
    -------
    ndarray of bool
    """
    return ndi.distance_transform_edt(fg) > radius


def affine(fg: np.ndarray, angle: float, shift) -> np.ndarray:
    """Rotation by ``angle`` degrees about the image centre, then a translation ``shift`` (px).

    Parameters
    ----------
    fg : ndarray of bool
        The mask.
    angle : float
        Degrees, counter-clockwise in (row, col) coordinates.
    shift : sequence of float
        (rows, cols) in px.

    Returns
    -------
    ndarray of bool
        Nearest-neighbour resampled; pixels from outside the image are background.
    """
    h, w = fg.shape
    theta = np.deg2rad(angle)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    centre = (np.array([h, w]) - 1) / 2.0
    # output o comes from input i = R^T (o - c - t) + c
    inverse = rot.T
    offset = centre - inverse @ (centre + np.asarray(shift, dtype=float))
    out = ndi.affine_transform(fg.astype(np.uint8), inverse, offset=offset, order=0, cval=0)
    return out > 0


def _drop_count(n: int, fraction: float) -> int:
    return min(n, max(1, int(round(fraction * n))))


def drop(fg: np.ndarray, rng: np.random.Generator, fraction: float) -> np.ndarray:
    """Connected components (8-connected) removed at random.

    Parameters
    ----------
    fg : ndarray of bool
        The mask, with foreground.
    rng : numpy.random.Generator
        Picks the components.
    fraction : float
        Share of the components removed: ``round(fraction * n)``, at least one.

    Returns
    -------
    ndarray of bool
    """
    labels, n = _components(fg)
    dropped = rng.choice(np.arange(1, n + 1), size=_drop_count(n, fraction), replace=False)
    return fg & ~np.isin(labels, dropped)


def _ellipse(shape, centre, axes, angle) -> np.ndarray:
    rr, cc = np.ogrid[: shape[0], : shape[1]]
    dr, dc = rr - centre[0], cc - centre[1]
    cos, sin = np.cos(angle), np.sin(angle)
    u = (dr * cos + dc * sin) / axes[0]
    v = (-dr * sin + dc * cos) / axes[1]
    return u * u + v * v <= 1.0


def _place_blobs(
    fg: np.ndarray, rng: np.random.Generator, count: int
) -> tuple[np.ndarray, list[dict]]:
    labels, n = _components(fg)
    radii = np.maximum(_equivalent_radii(labels, n), 2.0)
    out = fg.copy()
    placed = []
    for _ in range(count):
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
    return out, placed


def add_blobs(fg: np.ndarray, rng: np.random.Generator, count: int) -> np.ndarray:
    """Spurious elliptic blobs added in the background.

    Parameters
    ----------
    fg : ndarray of bool
        The mask, with foreground.
    rng : numpy.random.Generator
        Draws each blob: the equivalent radius of a random existing object (at least 2 px), an
        aspect of 0.6-1, a free spot more than 2 px from the foreground and inside the image,
        and an orientation.
    count : int
        Blobs wanted; those that find no free spot are skipped.

    Returns
    -------
    ndarray of bool
    """
    return _place_blobs(fg, rng, count)[0]


def _protocol_morph(fg: np.ndarray, rng: np.random.Generator, kind: str) -> tuple:
    size, diameter = object_size(fg)
    lo, hi = LARGE_RADII if size == "large" else SMALL_RADII
    radius = int(rng.integers(lo, hi + 1))
    out = dilate(fg, radius) if kind == "dilate" else erode(fg, radius)
    return out, {"radius": radius, "size": size, "median_diameter": round(diameter, 2)}


def _protocol_affine(fg: np.ndarray, rng: np.random.Generator) -> tuple:
    angle = float(rng.uniform(-MAX_ANGLE, MAX_ANGLE))
    shift = rng.uniform(-MAX_SHIFT, MAX_SHIFT, size=2) * np.array(fg.shape)
    params = {"angle": round(angle, 3), "shift": [round(float(s), 3) for s in shift]}
    return affine(fg, angle, shift), params


def _protocol_drop(fg: np.ndarray, rng: np.random.Generator) -> tuple:
    n = _components(fg)[1]
    fraction = float(rng.uniform(*DROP_FRACTION))
    out = drop(fg, rng, fraction)
    return out, {
        "fraction": round(fraction, 4),
        "n_objects": n,
        "dropped": _drop_count(n, fraction),
    }


def _protocol_add(fg: np.ndarray, rng: np.random.Generator) -> tuple:
    wanted = int(rng.integers(ADD_COUNT[0], ADD_COUNT[1] + 1))
    out, placed = _place_blobs(fg, rng, wanted)
    return out, {"n_blobs": len(placed), "blobs": placed}


def _apply(fg: np.ndarray, rng: np.random.Generator, kind: str) -> tuple[np.ndarray, dict]:
    """One noise type with the protocol's parameter draw: ``(noisy, params)``."""
    if kind in ("dilate", "erode"):
        return _protocol_morph(fg, rng, kind)
    if kind == "affine":
        return _protocol_affine(fg, rng)
    if kind == "drop":
        return _protocol_drop(fg, rng)
    if kind == "add":
        return _protocol_add(fg, rng)
    return annotator_noise.corrupt(kind, fg, rng)


def applies(kind: str, fg: np.ndarray) -> bool:
    """Whether noise type ``kind`` can change the bool mask ``fg`` (all need foreground); the
    types of :data:`IDS_ONLY_KINDS` need object ids, so for them ``fg`` is an id image."""
    if kind in IDS_ONLY_KINDS:
        return instance_applies(kind, fg)
    if kind in KINDS:
        return bool(fg.any())
    return annotator_noise.applies(kind, fg)


def _valid_names() -> str:
    binary = (g for g in GROUPS if g != "instance")
    return (
        ", ".join((*binary, *ALL_KINDS))
        + "; on instance masks also instance, "
        + ", ".join(IDS_ONLY_KINDS)
    )


def parse_kinds(kinds: str | Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """The noise categories of a selection of noise types.

    Parameters
    ----------
    kinds : str or sequence of str
        ``"protocol"`` (the four categories of :data:`CATEGORIES`), ``"realistic"`` (the seven
        :data:`REALISTIC_KINDS`, one category each), ``"all"`` (both, 11 categories), or
        type names, comma-separated or as a sequence (one category each); group names may be
        mixed with type names. Repeats count once.

    Returns
    -------
    tuple of tuple of str
        Categories, each a tuple of type names; a draw is uniform over the categories, then
        over the types of the category.

    Raises
    ------
    NoisyFixError
        For an unknown name (the message lists the valid ones) or an empty selection.
    """
    items = kinds.split(",") if isinstance(kinds, str) else list(kinds)
    categories: list[tuple[str, ...]] = []
    for name in (str(item).strip().lower() for item in items):
        if not name:
            continue
        if name in GROUPS:
            found = GROUPS[name]
        elif name in ALL_KINDS or name in IDS_ONLY_KINDS:
            found = ((name,),)
        else:
            raise NoisyFixError(f"unknown noise type {name!r}; choose among {_valid_names()}")
        categories += [c for c in found if c not in categories]
    if not categories:
        raise NoisyFixError(f"no noise type selected; choose among {_valid_names()}")
    return tuple(categories)


def _draw(categories, rng: np.random.Generator) -> str:
    category = categories[int(rng.integers(len(categories)))]
    return category[int(rng.integers(len(category)))]


def draw_kind(rng: np.random.Generator, kinds: str | Sequence[str] = "protocol") -> str:
    """A noise type drawn uniformly over the categories of ``kinds``, then within the category.

    With the default, uniform over the protocol's four categories (dilate/erode split 50/50).
    """
    return _draw(parse_kinds(kinds), rng)


def _applicable(categories, fg: np.ndarray) -> tuple[tuple[str, ...], ...]:
    kept = (tuple(k for k in category if applies(k, fg)) for category in categories)
    return tuple(category for category in kept if category)


def _unchanged(fg: np.ndarray, reason: str) -> tuple[np.ndarray, dict]:
    info = {"type": "none", "params": {"reason": reason}, "dice": 1.0, "changed": False}
    return fg.astype(np.uint8), info


def corrupt_mask(
    mask: np.ndarray,
    rng: np.random.Generator,
    kind: str | None = None,
    kinds: str | Sequence[str] = "protocol",
) -> tuple[np.ndarray, dict]:
    """Corrupt one binary mask with one noise type.

    Parameters
    ----------
    mask : ndarray
        2D mask; any non-zero pixel is foreground.
    rng : numpy.random.Generator
        Source of randomness (fixes the result).
    kind : str, optional
        One of :data:`ALL_KINDS`; drawn from ``kinds`` when omitted.
    kinds : str or sequence of str
        The selection to draw from, see :func:`parse_kinds`. A drawn type that does not apply to
        the mask (:func:`applies`) is replaced by a new draw among the selection's types that do.

    Returns
    -------
    noisy : ndarray
        uint8 0/1 mask of the same shape.
    info : dict
        ``type`` (the noise type applied, ``"none"`` for a mask without foreground or when no
        type applies), ``params``, ``dice`` (noisy against the input) and ``changed`` (whether
        any pixel differs).
    """
    fg = _binary(mask)
    categories = parse_kinds(kinds)
    if kind in IDS_ONLY_KINDS or any(k in IDS_ONLY_KINDS for c in categories for k in c):
        raise NoisyFixError(
            f"noise type {', '.join(IDS_ONLY_KINDS)} needs instance masks (object ids): use "
            "corrupt_dataset(..., instances=True)"
        )
    if kind is not None and kind not in ALL_KINDS:
        raise NoisyFixError(f"unknown noise type {kind!r}; choose one of {', '.join(ALL_KINDS)}")
    drawn = kind is None
    kind = kind or _draw(categories, rng)
    if not fg.any():
        return _unchanged(fg, "mask has no foreground")
    if not applies(kind, fg):
        usable = _applicable(categories, fg) if drawn else ()
        if not usable:
            return _unchanged(fg, f"{kind} does not apply to this mask")
        kind = _draw(usable, rng)
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
    kinds: str | Sequence[str] = "protocol",
    instances: bool = False,
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
    kinds : str or sequence of str
        Noise types to draw from (:func:`parse_kinds`): ``"protocol"`` (default),
        ``"realistic"``, ``"all"``, ``"instance"`` or type names.
    instances : bool
        The masks are object ids: the result keeps them (uint16), ``merge`` and ``split`` apply
        (:func:`~napari_noisyfix.synth.instance_noise.corrupt_instances`).

    Returns
    -------
    noisy : dict
        uint8 0/1 masks by name (untouched ones are binarised copies); uint16 ids with
        ``instances``.
    log : list of dict
        Per image, sorted by name: ``name``, ``corrupted`` (selected and changed), ``type``
        (``"none"`` when untouched), ``params``, ``dice`` (noisy against truth).
    """
    if not 0.0 <= fraction <= 1.0:
        raise NoisyFixError(f"noise fraction {fraction} is outside [0, 1]")
    kinds = kinds if isinstance(kinds, str) else tuple(kinds)
    parse_kinds(kinds)
    names = sorted(masks)
    rng = np.random.default_rng(seed)
    candidates = [n for n in names if n not in (protect or set())]
    k = min(len(candidates), int(round(fraction * len(names))))
    chosen = set(rng.choice(candidates, size=k, replace=False).tolist()) if k else set()
    streams = np.random.SeedSequence(seed).spawn(len(names))
    noisy, log = {}, []
    for name, stream in zip(names, streams, strict=True):
        if name in chosen and instances:
            noisy[name], info = _corrupt_ids(masks[name], np.random.default_rng(stream), kinds)
        elif name in chosen:
            stream_rng = np.random.default_rng(stream)
            noisy[name], info = corrupt_mask(masks[name], stream_rng, kinds=kinds)
        elif instances:
            noisy[name] = np.asarray(masks[name], dtype=np.uint16).copy()
            info = {"type": "none", "params": {}, "dice": 1.0, "changed": False}
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


def _corrupt_ids(ids: np.ndarray, rng: np.random.Generator, kinds) -> tuple[np.ndarray, dict]:
    """One noise type, drawn among those of ``kinds`` that apply, on an instance mask."""
    ids = np.asarray(ids, dtype=np.uint16)
    usable = tuple(
        c
        for c in (
            tuple(
                k
                for k in cat
                if (instance_applies(k, ids) if k in INSTANCE_KINDS else applies(k, ids > 0))
            )
            for cat in parse_kinds(kinds)
        )
        if c
    )
    if not usable:
        _, info = _unchanged(ids > 0, "no noise type applies to this mask")
        return ids.copy(), info
    out, info = corrupt_instances(ids, rng, _draw(usable, rng))
    return out, {**info, "dice": dice(out, ids)}
