"""Colours, short words and number formats shared by the layers, the queue and the legend (no Qt).

The overlay colours come from the Okabe-Ito colour-blind-safe palette, chosen per project against
the images' own colour (:func:`palette_for`): on H&E (pink and purple) no box or heatmap takes a
pink or purple hue, on dark fluorescence the defaults stay. The missing-object box never shares
the proposal's colour.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass, field

import numpy as np

NAMES = {
    "image": "image",
    "mask": "working mask",
    "proposal": "model proposal",
    "uncertainty": "uncertainty",
    "errors": "label-error map",
    "flags": "flagged regions",
    "outliers": "clustering outliers",
    "preview": "refine preview",
}
#: Box of the region under review: white and thick, whatever its kind.
CURRENT_COLOR = "#ffffff"
DONE_COLOR = "#757575"
CLASS_COLORS = ("#ffd54f", "#4fc3f7", "#aed581", "#f06292", "#ba68c8", "#ff8a65")
PREVIEW_COLOR = "#76ff03"
OUTLIER_COLOR = "#ffffff"
#: A few stops of napari's colormaps, for the legend's swatches.
INFERNO_STOPS = ("#320a5e", "#bc3754", "#f98e09", "#fcffa4")
#: Edge widths of the flagged boxes, in screen pixels (kept so whatever the zoom).
CURRENT_WIDTH, OPEN_WIDTH, DONE_WIDTH = 3.0, 2.0, 2.0
CONTOUR_WIDTH = 2
OPEN = ("pending", "skipped")

#: Canvas words: the kind in two or three words (the queue and the why-box use the full words).
SHORT_WORDS = {
    "missing": "missing object",
    "spurious": "extra object",
    "too_wide": "outline too wide",
    "too_narrow": "outline too narrow",
    "shifted": "outline shifted",
    "outlier": "unusual object",
}
SHORT_WHOLE_WORDS = {
    "too_wide": "mask too wide",
    "too_narrow": "mask too narrow",
    "shifted": "mask misaligned",
}


def short_words(kind: str, scope: str = "object") -> str:
    """The kind in a few words, for a canvas label (``"outline too wide"``)."""
    if scope == "image":
        return SHORT_WHOLE_WORDS.get(kind, f"mask {kind}")
    return SHORT_WORDS.get(kind, kind)


#: Okabe & Ito's colour-blind-safe colours (black left out: boxes sit on dark images too).
OKABE_ITO = {
    "sky blue": "#56b4e9",
    "yellow": "#f0e442",
    "vermillion": "#d55e00",
    "orange": "#e69f00",
    "bluish green": "#009e73",
    "reddish purple": "#cc79a7",
    "blue": "#0072b2",
}
#: Each role's colours, first choice first: the proposal outline, the heatmap of likely-wrong
#: labels and one box colour per kind; a choice is skipped when its hue is near the images' own
#: or another role took it.
PREFERENCES = {
    "proposal": ("sky blue", "bluish green", "yellow"),
    "missing": ("yellow", "orange", "bluish green"),
    "spurious": ("vermillion", "orange", "yellow", "blue"),
    "too_wide": ("orange", "yellow", "vermillion", "blue"),
    "too_narrow": ("bluish green", "sky blue", "blue", "yellow"),
    "shifted": ("reddish purple", "blue", "bluish green", "sky blue"),
    "errors": ("vermillion", "bluish green", "sky blue", "yellow"),
}
#: Hues (degrees) closer than this to the images' dominant hue are avoided.
HUE_MARGIN = 60.0
#: A pixel counts towards the dominant hue when its saturation and value are at least this.
MIN_SATURATION, MIN_VALUE = 0.15, 0.15


def hue(color: str) -> float:
    """Hue of a ``#rrggbb`` colour in degrees."""
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hsv(r, g, b)[0] * 360


def hue_distance(a: float, b: float) -> float:
    """Distance of two hues on the colour circle, in degrees (0..180)."""
    d = abs(a - b) % 360
    return min(d, 360 - d)


def dominant_hue(images: list[np.ndarray], max_pixels: int = 200_000) -> float | None:
    """The images' dominant hue in degrees (a circular mean weighted by saturation), or None for
    gray images or colour images with too few coloured pixels (under a tenth)."""
    rgb = [np.asarray(a) for a in images if np.asarray(a).ndim == 3 and a.shape[-1] in (3, 4)]
    if not rgb:
        return None
    step = max(1, int(np.ceil(sum(a[..., 0].size for a in rgb) / max_pixels)))
    pixels = np.concatenate([a[..., :3].reshape(-1, 3)[::step] for a in rgb]).astype(np.float64)
    if pixels.max() > 1:
        pixels /= 255.0 if pixels.max() <= 255 else pixels.max()
    high, low = pixels.max(axis=1), pixels.min(axis=1)
    sat = np.where(high > 0, (high - low) / np.maximum(high, 1e-9), 0.0)
    keep = (sat >= MIN_SATURATION) & (high >= MIN_VALUE)
    if keep.mean() < 0.1:
        return None
    h = _hues(pixels[keep], high[keep], low[keep])
    w = sat[keep]
    angle = np.arctan2((w * np.sin(h)).sum(), (w * np.cos(h)).sum())
    return float(np.degrees(angle) % 360)


def _hues(rgb: np.ndarray, high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Hues in radians of RGB rows (vectorised HSV)."""
    r, g, b = rgb.T
    span = np.maximum(high - low, 1e-9)
    h = np.where(
        high == r, (g - b) / span % 6, np.where(high == g, (b - r) / span + 2, (r - g) / span + 4)
    )
    return h * np.pi / 3


@dataclass
class Palette:
    """The overlay colours of one project: proposal, heatmap and box colour of each kind."""

    proposal: str
    errors: str
    kinds: dict[str, str] = field(default_factory=dict)
    avoided_hue: float | None = None


def palette_for(images: list[np.ndarray]) -> Palette:
    """Colours that keep clear of the images' dominant hue (:func:`dominant_hue`), from
    :data:`OKABE_ITO`, each role taking its first free preference."""
    avoid = dominant_hue(images)
    used: set[str] = set()
    chosen = {}
    for role, names in PREFERENCES.items():
        far = [
            n
            for n in names
            if avoid is None or hue_distance(hue(OKABE_ITO[n]), avoid) >= HUE_MARGIN
        ]
        free = [n for n in far if n not in used] or far or list(names)
        chosen[role] = OKABE_ITO[free[0]]
        if role != "errors":  # the heatmap may share a box colour: it is a fill, not an outline
            used.add(free[0])
    kinds = {k: chosen[k] for k in ("missing", "spurious", "too_wide", "too_narrow", "shifted")}
    return Palette(chosen["proposal"], chosen["errors"], {**kinds, "outlier": OUTLIER_COLOR}, avoid)


DEFAULT_PALETTE = palette_for([])


def error_colormap(color: str):
    """A heatmap colormap from transparent to ``color`` (translucent blending reads on bright
    H&E as on dark fluorescence, where an additive one washes out on white)."""
    from napari.utils.colormaps import Colormap

    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return Colormap([[r, g, b, 0.0], [r, g, b, 1.0]], name=f"noisyfix errors {color}")


def percent(p: float) -> str:
    """A probability as a whole percentage (``"93%"``); ``"–"`` when unknown."""
    return "–" if p is None or math.isnan(p) else f"{p:.0%}"


def pixels(n: float) -> str:
    """A pixel count with thousands separators (``"3,412 px"``)."""
    return f"{n:,.0f} px"


def dice(d: float | None) -> str:
    """A Dice value with two decimals (``"0.86"``); ``"–"`` when unknown."""
    return "–" if d is None or math.isnan(d) else f"{d:.2f}"


def gain(d: float) -> str:
    """A change in Dice, signed, three decimals (gains are often below 0.01): ``"+0.012"``."""
    return f"{d:+.3f}"


def dice_gain(d: float) -> str:
    """A change in Dice with its unit: ``"+0.012 image Dice"``."""
    return f"{gain(d)} image Dice"
