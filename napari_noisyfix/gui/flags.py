"""How the flagged boxes of one slice are drawn: edge colours, widths and labels (no napari here).

The region under review stands out (thick white edge, the long label); other open regions get
their kind's colour, a thin edge and a short label where it neither overlaps another label nor
runs off the image; done regions are grey and unlabelled.
"""

from __future__ import annotations

from dataclasses import dataclass

from .style import (
    CURRENT_COLOR,
    CURRENT_WIDTH,
    DONE_COLOR,
    DONE_WIDTH,
    KIND_COLORS,
    OPEN,
    OPEN_WIDTH,
    percent,
    pixels,
    short_words,
)

#: Label size in image pixels, as fractions of the canvas (the whole-image view, zoomed out most).
LABEL_ROWS, LABEL_CHARS = 30, 110


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


def flag_style(regions: list, status: dict, current: str | None, canvas) -> FlagStyle:
    """Colours, widths, labels and stacking of ``regions`` (one slice), ``current`` the id under review."""
    states = [status.get(r.id, "pending") for r in regions]
    colors, widths, z = [], [], []
    for r, state in zip(regions, states, strict=True):
        is_open = state in OPEN
        colors.append(
            CURRENT_COLOR if r.id == current else KIND_COLORS[r.kind] if is_open else DONE_COLOR
        )
        widths.append(CURRENT_WIDTH if r.id == current else OPEN_WIDTH if is_open else DONE_WIDTH)
        z.append(2 if r.id == current else int(is_open))
    return FlagStyle(colors, widths, declutter(regions, states, current, canvas), z)


def declutter(regions: list, states: list[str], current: str | None, canvas) -> list[str]:
    """Labels that keep clear of each other: the current one first, then open ones in order."""
    labels = [""] * len(regions)
    taken: list[tuple[float, float, float, float]] = []
    order = sorted(range(len(regions)), key=lambda i: regions[i].id != current)
    for i in order:
        region = regions[i]
        if region.id == current:
            text = long_label(region)
        elif states[i] in OPEN:
            text = short_label(region)
        else:
            continue
        box = label_box(region, text, canvas)
        if region.id == current or (box[3] <= canvas[1] and not any(_meet(box, t) for t in taken)):
            labels[i] = text
            taken.append(box)
    return labels


def label_box(region, text: str, canvas) -> tuple[float, float, float, float]:
    """Image-pixel extent ``(r0, c0, r1, c1)`` of a label napari draws just above the box's
    upper-left corner (anchor ``upper_left``)."""
    r0, c0 = region.bbox[:2]
    lines = text.split("\n")
    height = len(lines) * canvas[0] / LABEL_ROWS
    return (r0 - height, c0, r0, c0 + max(map(len, lines)) * canvas[1] / LABEL_CHARS)


def _meet(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
