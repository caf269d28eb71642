"""Small Qt control makers shared by the widget's panels."""

from __future__ import annotations

from qtpy.QtWidgets import QPushButton


def button(text: str, slot, tip: str = "") -> QPushButton:
    """A push button that calls ``slot()`` when clicked."""
    widget = QPushButton(text)
    widget.setToolTip(tip)
    widget.clicked.connect(lambda *_: slot())
    return widget


def spin(cls, lo, hi, value, step=1, prefix="", suffix="", tip="", decimals=None):
    """A ``QSpinBox`` or ``QDoubleSpinBox`` (``cls``) with its range, step and value set."""
    widget = cls()
    if decimals is not None:
        widget.setDecimals(decimals)
    widget.setRange(lo, hi)
    widget.setSingleStep(step)
    widget.setValue(value)
    widget.setPrefix(prefix)
    widget.setSuffix(suffix)
    widget.setToolTip(tip)
    return widget
