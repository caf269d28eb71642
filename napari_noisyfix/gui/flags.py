"""How the flagged boxes of one slice are drawn: edge colours, widths and labels (no napari here).

The region under review stands out (thick white edge, the long label); other open regions get
their kind's colour (from the project's palette), a 2-px edge and a short label; no label
overlaps another or runs off the image; done regions are grey and unlabelled.
"""

from __future__ import annotations

from dataclasses import dataclass

from .style import (
    CURRENT_COLOR,
    CURRENT_WIDTH,
    DEFAULT_PALETTE,
    DONE_COLOR,
    DONE_WIDTH,
    OPEN,
    OPEN_WIDTH,
    percent,
    pixels,
    short_words,
)

#: Screen pixels of one line and one character of a canvas label (napari text size 9, as
#: measured on its screenshots); divided by the camera zoom, they give the label's image extent.
LINE_PX, CHAR_PX = 16.0, 8.5


@dataclass
class FlagStyle:
    """Per-box drawing attributes, in the order of the regions given."""

    edge_color: list[str]
    edge_width: list[float]
    label: list[str]
    z_index: list[int]


def short_label(region) -> str:
    """``"outline too wide · 93%"``: the kind in a few words and P(error)."""
    return f"{short_words(region.kind, region.scope)} · {percent(region.score)}"


def long_label(region) -> str:
    """The current region's label, on two lines so it stays narrow: the full kind, then P(error),
    P(fix helps) and the expected gain."""
    return (
        f"{region.label}\nP(error) {percent(region.score)} · "
        f"fix helps {percent(region.prob_correct)} · {pixels(region.gain)}"
    )


def flag_style(
    regions: list,
    status: dict,
    current: str | None,
    canvas,
    colors: dict | None = None,
    zoom: float = 1.0,
) -> FlagStyle:
    """Colours, widths, labels and stacking of ``regions`` (one slice), ``current`` the id under
    review; ``colors`` are the box colours by kind (default: :data:`DEFAULT_PALETTE`'s);
    ``zoom`` (screen pixels per image pixel) sizes the labels."""
    colors_of = colors or DEFAULT_PALETTE.kinds
    states = [status.get(r.id, "pending") for r in regions]
    colors, widths, z = [], [], []
    for r, state in zip(regions, states, strict=True):
        is_open = state in OPEN
        colors.append(
            CURRENT_COLOR if r.id == current else colors_of[r.kind] if is_open else DONE_COLOR
        )
        widths.append(CURRENT_WIDTH if r.id == current else OPEN_WIDTH if is_open else DONE_WIDTH)
        z.append(2 if r.id == current else int(is_open))
    return FlagStyle(colors, widths, declutter(regions, states, current, canvas, zoom), z)


def declutter(
    regions: list, states: list[str], current: str | None, canvas, zoom: float = 1.0
) -> list[str]:
    """Labels that stay inside the canvas and keep clear of each other: the current one first
    (its short label when the long one does not fit; the why-box always has it in full), then
    open ones in queue order."""
    labels = [""] * len(regions)
    taken: list[tuple[float, float, float, float]] = []
    order = sorted(range(len(regions)), key=lambda i: regions[i].id != current)
    for i in order:
        region = regions[i]
        if region.id == current:
            texts = (long_label(region), short_label(region))
        elif states[i] in OPEN:
            texts = (short_label(region),)
        else:
            continue
        for text in texts:
            box = label_box(region, text, zoom)
            if _inside(box, canvas) and not any(_meet(box, t) for t in taken):
                labels[i] = text
                taken.append(box)
                break
    return labels


def _inside(box, canvas) -> bool:
    return box[0] >= -0.5 and box[1] >= -0.5 and box[2] <= canvas[0] and box[3] <= canvas[1]


def label_box(region, text: str, zoom: float = 1.0) -> tuple[float, float, float, float]:
    """Image-pixel extent ``(r0, c0, r1, c1)`` of a label napari draws just above the box's
    upper-left corner (anchor ``upper_left``) at camera ``zoom``."""
    r0, c0 = region.bbox[:2]
    lines = text.split("\n")
    height = len(lines) * LINE_PX / zoom
    return (r0 - height, c0, r0, c0 + max(map(len, lines)) * CHAR_PX / zoom)


def _meet(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
