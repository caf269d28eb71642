"""The widget's remembered settings (training budget, retrain steps and automatic retraining,
bulk-accept threshold, heatmap opacity).

Stored with Qt's ``QSettings`` in INI format in the user's scope (``napari-noisyfix/review.ini``
under Qt's user configuration folder), so they survive closing the widget and napari. A value
that is missing, of the wrong type or out of range reads as its default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from qtpy.QtCore import QSettings

from ..model.budget import CHOICES
from .bulk_panel import DEFAULT_THRESHOLD
from .controller import RETRAIN_STEPS
from .layers import HEAT_OPACITY

ORGANIZATION, APPLICATION = "napari-noisyfix", "review"


@dataclass(frozen=True)
class Setting:
    """One remembered value: its type, default and allowed range."""

    kind: type
    default: float
    low: float
    high: float


#: Every remembered value, by key (the widget's controls are built from the same ranges).
SETTINGS = {
    "train_budget": Setting(int, 0, 0, len(CHOICES) - 1),  # an index into budget.CHOICES
    "retrain_steps": Setting(int, RETRAIN_STEPS, 1, 10000),
    "auto_retrain": Setting(int, 0, 0, 1000),
    "bulk_threshold": Setting(float, DEFAULT_THRESHOLD, 0.0, 1.0),
    "heat_opacity": Setting(float, HEAT_OPACITY, 0.0, 1.0),
}


def store() -> QSettings:
    """The settings file (INI, user scope); tests point it elsewhere with ``QSettings.setPath``."""
    return QSettings(QSettings.IniFormat, QSettings.UserScope, ORGANIZATION, APPLICATION)


def read(key: str):
    """The remembered value of ``key``, or its default when missing or unusable."""
    spec = SETTINGS[key]
    raw = store().value(key, spec.default)
    try:
        value = spec.kind(float(raw))
    except (TypeError, ValueError):
        return spec.default
    if not math.isfinite(value) or not spec.low <= value <= spec.high:
        return spec.default
    return value


def write(key: str, value) -> None:
    """Remember ``value`` for ``key`` (written to disk at once)."""
    settings = store()
    settings.setValue(key, SETTINGS[key].kind(value))
    settings.sync()
