"""The quality stage's fixed parameters, in one frozen, documented object.

None of them is set for a named dataset. What must hold on data the tool has never seen, how
much each piece of evidence is worth, is not a parameter: it is learnt per project by the
calibration (:mod:`~napari_noisyfix.quality.calibration`) from errors planted in the project's own
masks. What is left here are the finder's geometric conventions (what counts as one region), the
sizes of the calibration, the learners' capacity and the bars of the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CalibrationParams:
    """How the per-project calibration is built.

    Attributes
    ----------
    max_images : int
        Most images whose masks receive planted errors (the least suspicious ones first); more
        cost scoring time and add little once a few thousand regions are collected.
    min_images : int
        Fewest images a calibration needs; below it the project is scored uncalibrated.
    base_share : float
        Share of the project, ranked by the uncalibrated image score, from which the calibration
        images are drawn: the masks least likely to be wrong, so that what is planted is the
        error and what is found elsewhere is mostly the model's own disagreement.
    plants_per_image : int
        Copies of each calibration mask, each with one planted error of a random type; more in a
        small project, so that at least ``min_planted`` errors are planted in all.
    min_planted : int
        Fewest planted errors of a calibration.
    seed : int
        Seed of the planting (scores are repeatable).
    pixels_per_image : int
        Most pixels sampled from each calibration mask for the pixel model.
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization
        Capacity of the gradient-boosted trees (scikit-learn's ``HistGradientBoosting*``):
        small trees and strong leaves, since a project gives a few hundred to a few thousand
        examples.
    """

    max_images: int = 48
    min_images: int = 6
    base_share: float = 0.5
    plants_per_image: int = 3
    min_planted: int = 120
    seed: int = 0
    pixels_per_image: int = 1500
    max_iter: int = 120
    learning_rate: float = 0.08
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 12
    l2_regularization: float = 1.0


@dataclass(frozen=True)
class VerdictParams:
    """Bars of the verdict on whether the model can judge the masks.

    ``good`` and ``weak`` are held-out AUROCs on planted errors (0.5 is chance, 1 perfect): at
    least ``good`` on images and regions, the queue is trusted; below ``weak`` on images, on
    regions, or on errors as small as the model's own disagreement with the labels, the tool
    warns that it cannot judge the masks. It also warns when the estimated mask Dice follows the
    true one with a held-out Pearson r below ``min_dice_r``: the tool cannot say how good a mask
    is.
    """

    good: float = 0.85
    weak: float = 0.7
    min_dice_r: float = 0.5


CALIBRATION = CalibrationParams()
VERDICT = VerdictParams()
