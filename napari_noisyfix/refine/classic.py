"""Classic segmenters that propose a mask for a clicked point or a box: mean shift,
Felzenszwalb's graph-based method and marker watershed.

Each ``*_labels`` function segments the whole image (or crop) into integer segments; the
registered ``segment`` tools pick the segment under the point, or the segments inside the box
(see :func:`napari_noisyfix.refine._pick.pick_segments`). Graph cuts live in :mod:`.graphcut`.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage import feature, filters, measure, segmentation
from sklearn.cluster import MeanShift, estimate_bandwidth

from ._arrays import to_gray
from ._pick import pick_segments
from .registry import Param, register


def pixel_features(image: np.ndarray, spatial: float) -> np.ndarray:
    """(H*W, channels + 2) features: intensity or colour, and position scaled to [0, spatial]."""
    h, w = image.shape[:2]
    rows, cols = np.mgrid[:h, :w] / max(h, w)
    vals = image.reshape(h * w, -1)
    return np.hstack([vals, spatial * np.column_stack([rows.ravel(), cols.ravel()])])


def mean_shift_modes(
    image: np.ndarray,
    bandwidth: float = 0.0,
    spatial: float = 0.1,
    quantile: float = 0.2,
    max_samples: int = 3000,
    seed: int = 0,
) -> tuple[np.ndarray, int]:
    """Cluster pixels by mean shift; returns ((H, W) mode index per pixel, number of modes).

    Parameters
    ----------
    image : ndarray
        (H, W) or (H, W, 3) float image in [0, 1].
    bandwidth : float
        Kernel bandwidth in feature units; 0 estimates it with
        :func:`sklearn.cluster.estimate_bandwidth` at ``quantile``.
    spatial : float
        Weight of position (scaled to [0, 1]) against intensity.
    max_samples : int
        Mean shift runs (bin-seeded) on at most this many randomly drawn pixels; every pixel then
        takes its nearest mode.
    """
    feats = pixel_features(image, spatial)
    rng = np.random.default_rng(seed)
    sample = feats[rng.choice(len(feats), min(max_samples, len(feats)), replace=False)]
    if bandwidth <= 0:
        bandwidth = estimate_bandwidth(sample, quantile=quantile, n_samples=500, random_state=seed)
        bandwidth = max(float(bandwidth), 1e-3)
    model = MeanShift(bandwidth=bandwidth, bin_seeding=True, min_bin_freq=5).fit(sample)
    modes = model.predict(feats).reshape(image.shape[:2])
    return modes, len(model.cluster_centers_)


def mean_shift_labels(image: np.ndarray, **kwargs) -> np.ndarray:
    """Segments = connected regions of one mean-shift mode (ids from 1)."""
    modes, _ = mean_shift_modes(image, **kwargs)
    return measure.label(modes + 1, background=0, connectivity=1)


def felzenszwalb_labels(
    image: np.ndarray, scale: float = 100.0, sigma: float = 0.8, min_size: int = 20
) -> np.ndarray:
    """Felzenszwalb-Huttenlocher graph segmentation (ids from 1)."""
    axis = -1 if image.ndim == 3 else None
    seg = segmentation.felzenszwalb(image, scale, sigma, min_size, channel_axis=axis)
    return seg + 1


def watershed_split(
    fg: np.ndarray, markers: np.ndarray | None = None, min_distance: int = 5
) -> np.ndarray:
    """Split a foreground mask into objects by watershed on its distance transform.

    Parameters
    ----------
    fg : ndarray
        (H, W) bool foreground.
    markers : ndarray, optional
        (H, W) int seeds (one id per object); by default the distance transform's local maxima
        at least ``min_distance`` px apart.
    """
    dist = ndi.distance_transform_edt(fg)
    if markers is None:
        peaks = feature.peak_local_max(
            filters.gaussian(dist, 1.0), min_distance=min_distance, labels=measure.label(fg)
        )
        markers = np.zeros(fg.shape, dtype=np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return segmentation.watershed(-dist, markers, mask=fg)


def watershed_labels(image: np.ndarray, min_distance: int = 5, sigma: float = 1.0) -> np.ndarray:
    """Otsu foreground (the brighter side) split into touching objects by marker watershed."""
    gray = filters.gaussian(to_gray(image), sigma) if sigma > 0 else to_gray(image)
    if gray.max() <= gray.min():
        return np.zeros(gray.shape, dtype=np.int32)
    fg = gray > filters.threshold_otsu(gray)
    return watershed_split(fg, min_distance=min_distance)


_SEED = Param("seed", int, 0, 0, 2**31 - 1, "random seed")


@register(
    "mean_shift",
    "segment",
    [
        Param("bandwidth", float, 0.0, 0.0, 10.0, "kernel bandwidth (0: estimate it)"),
        Param("spatial", float, 0.1, 0.0, 10.0, "weight of position against intensity"),
        Param("quantile", float, 0.2, 0.01, 1.0, "quantile for the bandwidth estimate"),
        Param("max_samples", int, 3000, 100, 100000, "pixels the modes are found on"),
        _SEED,
    ],
)
def _mean_shift_tool(image, point, box, **kwargs):
    """Mean shift: cluster intensity/colour and position; the modes become segments."""
    return pick_segments(mean_shift_labels(image, **kwargs), point, box, image)


@register(
    "felzenszwalb",
    "segment",
    [
        Param("scale", float, 100.0, 1.0, 10000.0, "higher: larger segments"),
        Param("sigma", float, 0.8, 0.0, 10.0, "Gaussian smoothing before segmenting (px)"),
        Param("min_size", int, 20, 1, 100000, "smallest segment (px)"),
    ],
)
def _felzenszwalb_tool(image, point, box, scale, sigma, min_size):
    """Felzenszwalb: efficient graph-based segmentation."""
    return pick_segments(felzenszwalb_labels(image, scale, sigma, min_size), point, box, image)


@register(
    "watershed",
    "segment",
    [
        Param("min_distance", int, 5, 1, 200, "smallest distance between object centres (px)"),
        Param("sigma", float, 1.0, 0.0, 10.0, "Gaussian smoothing before thresholding (px)"),
    ],
)
def _watershed_tool(image, point, box, min_distance, sigma):
    """Watershed: bright objects split at their necks from distance-transform markers."""
    return pick_segments(watershed_labels(image, min_distance, sigma), point, box, image)
