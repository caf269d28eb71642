"""Label-quality engine: where the given masks are probably wrong, how wrong, and what they should be.

Built on class probabilities (ideally out-of-fold) from :mod:`napari_noisyfix.model`; Qt-free.

* :func:`compute_maps` -- confidence, entropy, margin, sample variance / mutual information,
  label quality (given-label probability normalised by per-class thresholds) and ``error_score``
  (probability that each pixel's given label is wrong, sharpened by spatial evidence).
* :func:`per_class_thresholds`, :func:`dataset_thresholds` -- confident-learning thresholds
  (mean self-confidence per class), overridable.
* :func:`find_regions` -- typed error regions (missing, spurious, too_wide, too_narrow, shifted)
  from object matching, each a :class:`Region` with a proposal, score and expected gain, plus
  whole-mask errors (:mod:`.systematic`: every outline too wide or too narrow, or the mask
  misaligned) checked against the project's foreground shift (:mod:`.prior_shift`).
* :func:`describe_objects`, :func:`find_outliers` -- clustering outliers (K-Means / DBSCAN over
  shape, intensity, model agreement and pooled features).
* :func:`image_error_score` -- the uncalibrated image-level score.
* :mod:`.calibration` -- per project, errors planted in copies of the project's own masks
  (:mod:`.planting`) under its own probabilities teach what the evidence of each region and
  image (:mod:`.features`) is worth: the probability that a region is an error and that its
  proposal helps, each mask's error probability and estimated Dice, the error map, and a
  :class:`Verdict` on whether the model can judge the masks at all (:mod:`.verdict`). The few
  fixed parameters left are in :mod:`.params`.
* :class:`ReviewQueue` -- one queue over all images, ordered by expected gain in image Dice.
* :func:`score_project` -- the whole pass over a project with on-disk caching;
  :func:`load_regions`, :func:`load_maps`, :func:`load_image_scores`, :func:`load_verdict`
  read its results.
"""

from .image_score import image_error_score, softmin_quality
from .maps import compute_maps
from .outliers import ObjectTable, describe_objects, find_outliers
from .queue import ReviewQueue, expected_gain
from .region import KINDS, Region
from .regions import find_regions, model_labels
from .score import load_image_scores, load_maps, load_regions, load_verdict, score_project
from .thresholds import dataset_thresholds, per_class_thresholds
from .verdict import Verdict

__all__ = [
    "KINDS",
    "ObjectTable",
    "Region",
    "ReviewQueue",
    "Verdict",
    "compute_maps",
    "dataset_thresholds",
    "describe_objects",
    "expected_gain",
    "find_outliers",
    "find_regions",
    "image_error_score",
    "load_image_scores",
    "load_maps",
    "load_regions",
    "load_verdict",
    "model_labels",
    "per_class_thresholds",
    "score_project",
    "softmin_quality",
]
