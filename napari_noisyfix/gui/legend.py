"""What each colour on the canvas means: one swatch per overlay, region kind and region state."""

from __future__ import annotations

import html

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLabel

from .style import (
    CLASS_COLORS,
    CURRENT_COLOR,
    DEFAULT_PALETTE,
    DONE_COLOR,
    INFERNO_STOPS,
    NAMES,
    OUTLIER_COLOR,
    PREVIEW_COLOR,
    Palette,
    short_words,
)

FILLED, OUTLINE, CROSS = "■", "□", "✕"
LAYER_COLUMNS, BOX_COLUMNS = 2, 3
BOX_KINDS = ("missing", "spurious", "too_wide", "too_narrow", "shifted")


def swatch(colors, glyph: str = FILLED) -> str:
    """Coloured glyphs (one per colour) as rich text."""
    return "".join(f'<span style="color:{c}">{glyph}</span>' for c in colors)


def layer_entries(palette: Palette = DEFAULT_PALETTE) -> list[tuple[str, str]]:
    """``(swatch, words)`` of each overlay layer, named as in napari's layer list."""
    return [
        (swatch(CLASS_COLORS[:2]), f"{NAMES['mask']} (editable)"),
        (swatch([palette.proposal], OUTLINE), f"{NAMES['proposal']} outline"),
        (swatch([PREVIEW_COLOR], OUTLINE), f"{NAMES['preview']} outline"),
        (swatch(INFERNO_STOPS), f"{NAMES['uncertainty']} heatmap (hidden at start)"),
        (swatch([OUTLIER_COLOR], CROSS), NAMES["outliers"]),
        (swatch([palette.errors]), f"{NAMES['errors']} (strong: likely wrong)"),
    ]


def box_entries(palette: Palette = DEFAULT_PALETTE) -> list[tuple[str, str]]:
    """``(swatch, words)`` of the flagged-region boxes: each kind, the current one, done ones."""
    kinds = [(swatch([palette.kinds[k]], OUTLINE), short_words(k)) for k in BOX_KINDS]
    return [
        *kinds,
        (swatch([CURRENT_COLOR], OUTLINE), "current (thick)"),
        (swatch([DONE_COLOR], OUTLINE), "done (no label)"),
    ]


def _table(entries: list[tuple[str, str]], columns: int) -> str:
    cells = [
        f'<td nowrap>{glyph}</td><td style="padding-right:10px">{html.escape(words)}</td>'
        for glyph, words in entries
    ]
    rows = ["".join(cells[i : i + columns]) for i in range(0, len(cells), columns)]
    body = "".join(f"<tr>{row}</tr>" for row in rows)
    return f'<table cellspacing="0" cellpadding="1">{body}</table>'


def legend_html(palette: Palette = DEFAULT_PALETTE) -> str:
    """The legend as rich text: the overlay layers, then the boxes of the flagged regions, in the
    project's colours (and, for colour images, the hue they keep clear of)."""
    boxes = f"<b>{NAMES['flags']}</b>: boxes coloured by kind (whole-mask errors too)"
    text = _table(layer_entries(palette), LAYER_COLUMNS) + boxes
    text += _table(box_entries(palette), BOX_COLUMNS)
    if palette.avoided_hue is not None:
        text += (
            f"Colour-blind-safe colours chosen away from the images' own hue "
            f"({palette.avoided_hue:.0f}°)"
        )
    return text


class Legend(QLabel):
    """A table of coloured swatches, one per overlay on the canvas."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setTextFormat(Qt.RichText)
        self.setWordWrap(True)
        self.show_palette(DEFAULT_PALETTE)
        self.setStyleSheet("QLabel { font-size: 11px; }")

    def show_palette(self, palette: Palette) -> None:
        """Show the colours of the project on screen."""
        self.setText(legend_html(palette))
