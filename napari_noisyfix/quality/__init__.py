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

from .._lazy import lazy_getattr

#: Where each name of the package lives. The submodules are imported when a name is first
#: used, not with the package: a worker process that analyses images (:mod:`.pool`) needs
#: neither scikit-learn nor the scoring pass, and starts in a third of the time.
_HOME = {
    "image_error_score": "image_score",
    "softmin_quality": "image_score",
    "compute_maps": "maps",
    "ObjectTable": "outliers",
    "describe_objects": "outliers",
    "find_outliers": "outliers",
    "ReviewQueue": "queue",
    "expected_gain": "queue",
    "KINDS": "region",
    "Region": "region",
    "find_regions": "regions",
    "model_labels": "regions",
    "load_image_scores": "score",
    "load_maps": "score",
    "load_regions": "score",
    "load_verdict": "score",
    "score_project": "score",
    "dataset_thresholds": "thresholds",
    "per_class_thresholds": "thresholds",
    "Verdict": "verdict",
}
__all__ = sorted(_HOME)


__getattr__ = lazy_getattr(__name__, _HOME)


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])
