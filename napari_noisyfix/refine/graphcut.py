"""Graph cuts: normalized cut on a region adjacency graph, and an s-t minimum cut on pixels.

* ``normalized_cut``: SLIC superpixels (:func:`skimage.segmentation.slic`), a region adjacency
  graph weighted by mean-colour similarity (:func:`skimage.graph.rag_mean_color`) and recursive
  two-way normalized cuts (:func:`skimage.graph.cut_normalized`, Shi & Malik).
* ``min_cut``: a Boykov-Jolly s-t cut on the 4-connected pixel graph between a seed disk around
  the clicked point (source) and the box border (sink), with contrast-sensitive edge capacities
  ``exp(-dI^2 / 2 sigma^2)`` and an optional intensity data term; the maximum flow is scipy's
  :func:`scipy.sparse.csgraph.maximum_flow` and the cut is the set still reachable from the source
  in the residual graph.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph
from skimage import graph, segmentation

from ._pick import box_slices, pick_segments
from .registry import Param, register

CAPACITY_SCALE = 1000


def ncut_labels(
    image: np.ndarray,
    n_segments: int = 200,
    compactness: float = 0.1,
    sigma: float = 0.2,
    thresh: float = 0.2,
    seed: int = 0,
) -> np.ndarray:
    """Normalized-cut segmentation of SLIC superpixels (ids from 1).

    ``sigma`` is the colour distance (in image range units) at which the similarity of two
    superpixels falls to exp(-1); ``thresh`` stops the recursive cuts.
    """
    axis = -1 if image.ndim == 3 else None
    sp = segmentation.slic(
        image, n_segments=n_segments, compactness=compactness, channel_axis=axis, start_label=1
    )
    colour = image if image.ndim == 3 else image[..., None]
    rag = graph.rag_mean_color(colour, sp, mode="similarity", sigma=sigma**2)
    seg = graph.cut_normalized(sp, rag, thresh=thresh, rng=seed)
    return seg + 1 - seg.min()


def _grid_edges(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of flat indices of 4-neighbours (each pair once)."""
    idx = np.arange(shape[0] * shape[1]).reshape(shape)
    a = np.r_[idx[:, :-1].ravel(), idx[:-1, :].ravel()]
    b = np.r_[idx[:, 1:].ravel(), idx[1:, :].ravel()]
    return a, b


def min_cut(
    image: np.ndarray,
    seed: tuple[int, int],
    seed_radius: int = 2,
    sigma: float = 0.1,
    data_weight: float = 0.0,
) -> np.ndarray:
    """Minimum s-t cut between a seed disk (object) and the image border (background).

    Parameters
    ----------
    image : ndarray
        (H, W) or (H, W, 3) float image in [0, 1] (crop it to the box first).
    seed : (row, col)
        A pixel of the object.
    sigma : float
        Contrast (image range) at which an edge's capacity falls to exp(-1/2).
    data_weight : float
        Weight of the intensity data term (distance to the seed's and the border's mean colour).
    """
    h, w = image.shape[:2]
    vals = image.reshape(h * w, -1)
    a, b = _grid_edges((h, w))
    diff = np.sum((vals[a] - vals[b]) ** 2, axis=1)
    cap = np.maximum(1, np.rint(CAPACITY_SCALE * np.exp(-diff / (2 * sigma**2)))).astype(np.int32)
    src, snk = h * w, h * w + 1
    fg, bg = _seed_disk((h, w), seed, seed_radius), _border((h, w))
    big = np.int32(CAPACITY_SCALE * 4 * (h + w))
    rows = [a, b, np.full(fg.sum(), src), np.flatnonzero(bg)]
    cols = [b, a, np.flatnonzero(fg), np.full(bg.sum(), snk)]
    caps = [cap, cap, np.full(fg.sum(), big), np.full(bg.sum(), big)]
    if data_weight > 0:
        _add_data_term(vals, fg, bg, data_weight, rows, cols, caps)
    n = h * w + 2
    g = sparse.csr_matrix(
        (np.concatenate(caps).astype(np.int32), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n, n),
    )
    flow = csgraph.maximum_flow(g, src, snk, method="dinic").flow
    residual = (g - flow).tocsr()
    residual.data = (residual.data > 0).astype(np.int8)
    residual.eliminate_zeros()
    reach = csgraph.breadth_first_order(residual, src, directed=True, return_predecessors=False)
    out = np.zeros(n, dtype=bool)
    out[reach] = True
    return out[: h * w].reshape(h, w)


def _seed_disk(shape, seed, radius) -> np.ndarray:
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    disk = (rows - seed[0]) ** 2 + (cols - seed[1]) ** 2 <= radius**2
    return disk.ravel() & ~_border(shape)


def _border(shape) -> np.ndarray:
    ring = np.ones(shape, dtype=bool)
    ring[1:-1, 1:-1] = False
    return ring.ravel()


def _add_data_term(vals, fg, bg, weight, rows, cols, caps) -> None:
    """Source/sink capacities from squared distances to the seed's and the border's mean colour."""
    n = len(vals)
    d_fg = np.sum((vals - vals[fg].mean(axis=0)) ** 2, axis=1)
    d_bg = np.sum((vals - vals[bg].mean(axis=0)) ** 2, axis=1)
    scale = weight * CAPACITY_SCALE
    rows += [np.full(n, n), np.arange(n)]
    cols += [np.arange(n), np.full(n, n + 1)]
    caps += [np.rint(scale * d_bg).astype(np.int32), np.rint(scale * d_fg).astype(np.int32)]


@register(
    "normalized_cut",
    "segment",
    [
        Param("n_segments", int, 200, 2, 10000, "SLIC superpixels to start from"),
        Param("compactness", float, 0.1, 0.001, 100.0, "SLIC compactness (higher: squarer)"),
        Param("sigma", float, 0.2, 0.001, 10.0, "colour difference scale of the graph weights"),
        Param("thresh", float, 0.2, 0.0, 1.0, "stop cutting above this normalized-cut value"),
        Param("seed", int, 0, 0, 2**31 - 1, "random seed"),
    ],
)
def _ncut_tool(image, point, box, **kwargs):
    """Normalized cut: split a superpixel adjacency graph where colours differ most."""
    return pick_segments(ncut_labels(image, **kwargs), point, box, image)


@register(
    "min_cut",
    "segment",
    [
        Param("seed_radius", int, 2, 0, 50, "radius of the object seed around the point (px)"),
        Param("sigma", float, 0.1, 0.001, 10.0, "contrast at which edges become cheap to cut"),
        Param("data_weight", float, 0.0, 0.0, 100.0, "weight of the colour data term"),
    ],
)
def _min_cut_tool(image, point, box, seed_radius, sigma, data_weight):
    """Min cut: cheapest boundary between the clicked point and the box border."""
    r0, c0, r1, c1 = box
    seed = point if point is not None else ((r0 + r1) // 2, (c0 + c1) // 2)
    local = (seed[0] - r0, seed[1] - c0)
    out = np.zeros(image.shape[:2], dtype=bool)
    if not (0 <= local[0] < r1 - r0 and 0 <= local[1] < c1 - c0):
        return out
    crop = image[box_slices(box)]
    out[box_slices(box)] = min_cut(crop, local, seed_radius, sigma, data_weight)
    return out
