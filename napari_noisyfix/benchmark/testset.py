"""The benchmark's held-out test split: images no project of the run contains, and their truth.

Measures 3 (learning despite noise) and 5 (the loop) test models on it: every model, whatever
labels it trained on, predicts the same images it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..evaluate import dice


@dataclass
class TestSet:
    """Images and true masks of the held-out patients, by name."""

    images: dict[str, np.ndarray]
    truth: dict[str, np.ndarray]

    __test__ = False  # not a pytest class

    @classmethod
    def of(cls, data, names) -> TestSet:
        """The split ``names`` of a :class:`~napari_noisyfix.benchmark.dataset.BenchData`."""
        return cls({n: data.images[n] for n in names}, {n: data.truth[n] for n in names})

    def dice(self, predictor) -> tuple[float, float]:
        """Mean and standard deviation over the split of the Dice of ``predictor``'s argmax."""
        names = sorted(self.images)
        outputs = predictor.predict_batch([self.images[n] for n in names])
        scores = [
            dice(np.argmax(o.probs, axis=0).astype(np.uint8), self.truth[n])
            for n, o in zip(names, outputs, strict=True)
        ]
        return float(np.mean(scores)), float(np.std(scores))


def version_predictor(project, version: int, device: str = "cpu"):
    """A predictor for the final model of a project's version."""
    from ..model.predictor import Predictor

    return Predictor.load(project.model_dir(version), device)
