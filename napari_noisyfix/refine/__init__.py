"""Refinement tools that make a proposal fit the image, and classic segmenters that propose one.

Every tool is registered by name in :data:`TOOLS` with typed :class:`Param` s, so the GUI can list
them and build their controls; call them through :func:`refine` (proposal -> refined mask) or
:func:`segment` (image + clicked point or box -> bool mask). All work on a whole image or a crop,
2D gray or RGB, and return a mask of the same shape.

Refine tools
    ``opening``, ``closing``, ``fill_holes``, ``remove_small_objects``, ``remove_small_holes``,
    ``clean`` (:mod:`.morphology`); ``smooth_contours`` (:mod:`.contours`); ``snap_edges``,
    ``active_contour`` (:mod:`.edges`); ``crf`` (:mod:`.crf`, dense CRF on the probabilities).
Segment tools
    ``mean_shift``, ``felzenszwalb``, ``watershed`` (:mod:`.classic`); ``normalized_cut``,
    ``min_cut`` (:mod:`.graphcut`).

Examples
--------
>>> from napari_noisyfix.refine import TOOLS, refine, segment
>>> sorted(TOOLS)[:3]
['active_contour', 'clean', 'closing']
"""

from . import classic, contours, crf, edges, graphcut, morphology
from .classic import (
    felzenszwalb_labels,
    mean_shift_labels,
    mean_shift_modes,
    watershed_labels,
    watershed_split,
)
from .contours import smooth_contours
from .crf import dense_crf
from .edges import geodesic_snap, snap_edges
from .graphcut import min_cut, ncut_labels
from .registry import TOOLS, Param, Tool, get_tool, refine, register, segment, tool_names

__all__ = [
    "TOOLS",
    "Param",
    "Tool",
    "register",
    "get_tool",
    "tool_names",
    "refine",
    "segment",
    "smooth_contours",
    "snap_edges",
    "geodesic_snap",
    "dense_crf",
    "mean_shift_modes",
    "mean_shift_labels",
    "felzenszwalb_labels",
    "watershed_labels",
    "watershed_split",
    "ncut_labels",
    "min_cut",
    "classic",
    "contours",
    "crf",
    "edges",
    "graphcut",
    "morphology",
]
