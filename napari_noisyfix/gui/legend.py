"""What each colour on the canvas means: one swatch per overlay, region kind and region state."""

from __future__ import annotations

import html

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLabel

from .style import (
    CLASS_COLORS,
    CURRENT_COLOR,
    DONE_COLOR,
    ERROR_STOPS,
    INFERNO_STOPS,
    KIND_COLORS,
    NAMES,
    OUTLIER_COLOR,
    PREVIEW_COLOR,
    PROPOSAL_COLOR,
    short_words,
)

FILLED, OUTLINE, CROSS = "■", "□", "✕"
LAYER_COLUMNS, BOX_COLUMNS = 2, 3
BOX_KINDS = ("missing", "spurious", "too_wide", "too_narrow", "shifted")


def swatch(colors, glyph: str = FILLED) -> str:
    """Coloured glyphs (one per colour) as rich text."""
    return "".join(f'<span style="color:{c}">{glyph}</span>' for c in colors)


def layer_entries() -> list[tuple[str, str]]:
    """``(swatch, words)`` of each overlay layer, named as in napari's layer list."""
    return [
        (swatch(CLASS_COLORS[:2]), f"{NAMES['mask']} (editable)"),
        (swatch([PROPOSAL_COLOR], OUTLINE), f"{NAMES['proposal']} outline"),
        (swatch([PREVIEW_COLOR], OUTLINE), f"{NAMES['preview']} outline"),
        (swatch(INFERNO_STOPS), f"{NAMES['uncertainty']} heatmap (hidden at start)"),
        (swatch([OUTLIER_COLOR], CROSS), NAMES["outliers"]),
        (swatch(ERROR_STOPS), f"{NAMES['errors']} (bright: likely wrong)"),
    ]


def box_entries() -> list[tuple[str, str]]:
    """``(swatch, words)`` of the flagged-region boxes: each kind, the current one, done ones."""
    kinds = [(swatch([KIND_COLORS[k]], OUTLINE), short_words(k)) for k in BOX_KINDS]
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


def legend_html() -> str:
    """The legend as rich text: the overlay layers, then the boxes of the flagged regions."""
    boxes = f"<b>{NAMES['flags']}</b>: boxes coloured by kind (whole-mask errors too)"
    return _table(layer_entries(), LAYER_COLUMNS) + boxes + _table(box_entries(), BOX_COLUMNS)


class Legend(QLabel):
    """A table of coloured swatches, one per overlay on the canvas."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setTextFormat(Qt.RichText)
        self.setWordWrap(True)
        self.setText(legend_html())
        self.setStyleSheet("QLabel { font-size: 11px; }")
