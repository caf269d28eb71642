"""Bulk accept: every open region whose proposal helps with probability at least a threshold."""

from __future__ import annotations

import math
from collections.abc import Callable

from qtpy.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .style import percent

DEFAULT_THRESHOLD = 0.90


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def bulk_text(counts: dict, preview: bool) -> str:
    """``"12 regions in 7 images would change 3,412 pixels; expected precision 94%"``."""
    verb = "would change" if preview else "changed"
    text = (
        f"{_plural(counts['regions'], 'region')} in {_plural(counts['images'], 'image')} "
        f"{verb} {_plural(counts['pixels'], 'pixel')}"
    )
    precision = counts.get("precision", math.nan)
    if precision is not None and not math.isnan(precision):
        text += f"; expected precision {percent(precision)}"
    return text


class BulkPanel(QWidget):
    """Threshold on P(fix helps), Preview and Accept all buttons, and what they would do (or did).

    Parameters
    ----------
    accept_all : callable
        ``accept_all(threshold, preview)`` returning the session's counts dict, or None.
    """

    def __init__(self, accept_all: Callable[[float, bool], dict | None], parent=None):
        super().__init__(parent)
        self._accept_all = accept_all
        self.threshold = QDoubleSpinBox()
        self.threshold.setRange(0.0, 1.0)
        self.threshold.setSingleStep(0.05)
        self.threshold.setDecimals(2)
        self.threshold.setValue(DEFAULT_THRESHOLD)
        self.threshold.setMinimumWidth(self.threshold.fontMetrics().horizontalAdvance("0.00") + 64)
        self.threshold.setToolTip(
            "Accept every open region whose proposal brings the mask closer to the truth with "
            "at least this calibrated probability"
        )
        self.text = QLabel()
        self.text.setWordWrap(True)
        self._layout()

    def _layout(self) -> None:
        row = QHBoxLayout()
        row.addWidget(QLabel("P(fix helps) ≥"))
        row.addWidget(self.threshold)
        for label, preview in (("Preview", True), ("Accept all", False)):
            button = QPushButton(label)
            button.clicked.connect(lambda *_, p=preview: self.run(p))
            row.addWidget(button)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(row)
        box.addWidget(self.text)

    def run(self, preview: bool) -> None:
        """Preview or apply the bulk accept at the chosen threshold and say what it does."""
        counts = self._accept_all(self.threshold.value(), preview)
        if counts is not None:
            self.text.setText(bulk_text(counts, preview))
