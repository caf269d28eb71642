"""Plain-words explanations on screen: why the current region is flagged, and the model's verdict."""

from __future__ import annotations

import html

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLabel

from .style import dice, percent

WARNING_STYLE = (
    "QLabel { background-color: #fff3b0; color: #3d2e00; border: 1px solid #e0b000;"
    " border-radius: 3px; padding: 4px; font-size: 11px; }"
)
NEUTRAL_STYLE = "QLabel { color: #a0a4ab; font-size: 10px; padding: 2px; }"
NOTHING = "No region under review: the queue is empty or every region is done."


def why_text(region, est: float | None, image_error: float | None = None) -> str:
    """Rich text of the why-box: the region's kind, image, full reason and its mask's estimates."""
    if region is None:
        return html.escape(NOTHING)
    estimate = f"Estimated Dice of this image's mask: <b>{dice(est)}</b>"
    if image_error is not None:
        estimate += f" · P(mask holds an error) {percent(image_error)}"
    reason = html.escape(region.reason or region.label, quote=False)
    return f"<b>{html.escape(region.image)}</b>: {reason}<br>{estimate}"


class WhyPanel(QLabel):
    """ "Why this region": the current region's full reason and its image's estimated mask Dice."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.RichText)
        self.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.show_region(None, None)

    def show_region(self, region, est: float | None, image_error: float | None = None) -> None:
        """Explain ``region`` (None: nothing under review)."""
        self.setText(why_text(region, est, image_error))


class VerdictBanner(QLabel):
    """Top-of-widget banner: a yellow warning when the model cannot judge the masks (or the scores
    are uncalibrated), else the verdict in a small neutral line; hidden before scoring."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.RichText)
        self.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.is_warning = False
        self.show_verdict(None)

    def show_verdict(self, verdict) -> None:
        """Show a :class:`~napari_noisyfix.quality.verdict.Verdict` (None hides the banner)."""
        self.is_warning = verdict is not None and verdict.warning is not None
        if verdict is None:
            self.setText("")
        elif self.is_warning:
            self.setText(f"<b>⚠ Warning.</b> {html.escape(verdict.warning, quote=False)}")
        else:
            self.setText(html.escape(verdict.text(), quote=False))
        self.setToolTip("" if verdict is None else verdict.text())
        self.setStyleSheet(WARNING_STYLE if self.is_warning else NEUTRAL_STYLE)
        self.setVisible(verdict is not None)
