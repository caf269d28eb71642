"""What the review progress line shows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ReviewProgress:
    """Reviewed / total regions and images, and the estimated label quality (expected Dice)."""

    regions_reviewed: int
    regions_total: int
    images_reviewed: int
    images_total: int
    label_quality: float | None

    def text(self) -> str:
        """One line for the widget or the terminal."""
        quality = "n/a" if self.label_quality is None else f"{self.label_quality:.3f}"
        return (
            f"regions {self.regions_reviewed}/{self.regions_total} · "
            f"images {self.images_reviewed}/{self.images_total} · "
            f"est. label Dice {quality}"
        )
