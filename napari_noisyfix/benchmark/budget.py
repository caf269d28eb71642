"""Benchmark budgets: how big the images, how many folds, how long the training.

``tiny`` is for the test suite (seconds on a tiny folder); ``fast`` fits 2 CPU cores within about
15 minutes for 200 images of 256x256 (images shrunk to 128 px, 2 folds, short training); ``full`` is
for a GPU (native 256 px, 5 folds, the model stage's default schedule).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import NoisyFixError


@dataclass(frozen=True)
class Budget:
    """Sizes and schedule of one benchmark run.

    Attributes
    ----------
    name : str
        ``tiny``, ``fast`` or ``full``.
    size : int
        Shorter image side after resizing (the other side keeps the aspect ratio, rounded to a
        multiple of 32).
    folds : int
        Patient-level folds for the out-of-fold probabilities.
    epochs, steps_per_epoch, batch_size : int
        Training schedule of every model the benchmark trains.
    speed_images : int
        Images timed for the forward-pass figure.
    """

    name: str
    size: int
    folds: int
    epochs: int
    steps_per_epoch: int
    batch_size: int
    speed_images: int

    def train_overrides(self, device: str, seed: int) -> dict:
        """TrainConfig fields this budget sets (whole images, its schedule, device and seed)."""
        return {
            "epochs": self.epochs,
            "steps_per_epoch": self.steps_per_epoch,
            "batch_size": self.batch_size,
            "image_size": None,
            "device": device,
            "seed": seed,
        }


BUDGETS = {
    "tiny": Budget(
        "tiny", size=64, folds=2, epochs=1, steps_per_epoch=2, batch_size=2, speed_images=2
    ),
    "fast": Budget(
        "fast", size=128, folds=2, epochs=10, steps_per_epoch=8, batch_size=8, speed_images=20
    ),
    "full": Budget(
        "full", size=256, folds=5, epochs=30, steps_per_epoch=50, batch_size=16, speed_images=50
    ),
}


def get_budget(name: str) -> Budget:
    """The budget called ``name``."""
    try:
        return BUDGETS[name]
    except KeyError as exc:
        raise NoisyFixError(f"unknown budget {name!r}; choose from {', '.join(BUDGETS)}") from exc
