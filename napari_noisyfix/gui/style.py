"""Colours, short words and number formats shared by the layers, the queue and the legend (no Qt)."""

from __future__ import annotations

import math

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
KIND_COLORS = {
    "missing": "#448aff",
    "spurious": "#ff5252",
    "too_wide": "#ffb300",
    "too_narrow": "#69f0ae",
    "shifted": "#e040fb",
    "outlier": "#ffffff",
}
#: Box of the region under review: white and thick, whatever its kind.
CURRENT_COLOR = "#ffffff"
DONE_COLOR = "#757575"
CLASS_COLORS = ("#ffd54f", "#4fc3f7", "#aed581", "#f06292", "#ba68c8", "#ff8a65")
PROPOSAL_COLOR = "#00e5ff"
PREVIEW_COLOR = "#76ff03"
OUTLIER_COLOR = "#ffffff"
#: A few stops of napari's colormaps, for the legend's swatches.
INFERNO_STOPS = ("#320a5e", "#bc3754", "#f98e09", "#fcffa4")
ERROR_STOPS = ("#400000", "#a00000", "#ff0000")
#: Edge widths of the flagged boxes, in screen pixels (kept so whatever the zoom).
CURRENT_WIDTH, OPEN_WIDTH, DONE_WIDTH = 3.0, 1.5, 1.0
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


def percent(p: float) -> str:
    """A probability as a whole percentage (``"93%"``); ``"–"`` when unknown."""
    return "–" if p is None or math.isnan(p) else f"{p:.0%}"


def pixels(n: float) -> str:
    """A pixel count with thousands separators (``"3,412 px"``)."""
    return f"{n:,.0f} px"


def dice(d: float | None) -> str:
    """A Dice value with two decimals (``"0.86"``); ``"–"`` when unknown."""
    return "–" if d is None or math.isnan(d) else f"{d:.2f}"


def dice_gain(d: float) -> str:
    """A change in Dice, signed, three decimals (gains are often below 0.01)."""
    return f"{d:+.3f} image Dice"
