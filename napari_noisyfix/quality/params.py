"""The quality stage's fixed parameters, in one frozen, documented object: :data:`PARAMS`.

None of them is set for a named dataset. How much each piece of evidence is worth is not a
parameter: it is learnt per project by the calibration (:mod:`~napari_noisyfix.quality.calibration`)
from errors planted in the project's own masks. What is left are conventions: what counts as one
region, how the uncalibrated evidence is scaled, which whole-mask restorations are tried, the
sizes of the planted errors and of the calibration, the cache's tolerances and the bars of the
queue and the verdict. Sizes are shares of what the project itself sets (its median object, its
image side, its foreground), so that no value assumes a resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FinderParams:
    """What counts as one error region and which kind it is
    (:mod:`~napari_noisyfix.quality.regions`); the calibration learns what each region is worth.

    Attributes
    ----------
    min_overlap : float
        A given and a predicted object of one class are matched when they overlap by at least
        this share of the smaller one: an object drawn a few pixels off still matches, objects
        touching at a rim do not.
    shift_balance : float
        A matched group's confident disagreement is *shifted* when the pixels inside the given
        objects and those outside each hold at least this share of it; otherwise it is *too
        wide* or *too narrow* after the larger side.
    min_area_share, min_area
        The default smallest region: ``min_area_share`` of the median given object area, at
        least ``min_area`` pixels. Smaller disagreements are boundary noise, at any resolution.
    bar_share : float
        Where a class's confidence bar sits between chance ``1 / C`` (0) and the class's
        self-confidence threshold ``t_c`` (1): halfway, because the ``t_c`` of an easy class such
        as background is so high that no pixel next to a boundary would pass it.
    """

    min_overlap: float = 0.2
    shift_balance: float = 0.3
    min_area_share: float = 0.05
    min_area: int = 3
    bar_share: float = 0.5


@dataclass(frozen=True)
class EvidenceParams:
    """Scales of the uncalibrated evidence (:mod:`~napari_noisyfix.quality.evidence`,
    :mod:`~napari_noisyfix.quality.image_score`).

    They set the uncalibrated error map and image score, the order before a project is
    calibrated; once it is, the calibration takes these values as features and learns what they
    are worth, so that their scale matters little.

    Attributes
    ----------
    smooth_sigma : float
        Sigma (pixels) of the light Gaussian smoothing of the pixel error: a pixel is averaged
        with its immediate neighbours only, since label errors are spatially coherent and model
        noise less so.
    image_gain : float
        Gain of the image factor ``1 - exp(-image_gain * mass)``, with ``mass`` the error
        regions' ``area * score`` over the foreground area: errors covering a third of the
        foreground give a factor of about 0.63.
    object_weight : float
        Weight of a whole-object region (missing, spurious) in ``mass``, relative to an outline
        region of the same area: a whole object wrong is the larger error.
    area_floor : float
        Smallest foreground area (share of the image) that ``mass`` is divided by, so that one
        small region does not make an image with almost no foreground look wholly wrong.
    systematic_floor : float
        Inside a whole-mask region of weight ``w`` every pixel scores at least
        ``w * (systematic_floor + (1 - systematic_floor) * own score)``: most of the region's
        weight, whatever the pixel's own doubt.
    softmin_temperature : float
        Temperature of the softmin over the pixels' given-label probability (the value of
        cleanlab's segmentation label-quality score).
    """

    smooth_sigma: float = 0.5
    image_gain: float = 3.0
    object_weight: float = 2.0
    area_floor: float = 0.002
    systematic_floor: float = 0.7
    softmin_temperature: float = 0.1


@dataclass(frozen=True)
class WholeMaskParams:
    """Which whole-mask restorations are tried and how they are weighed
    (:mod:`~napari_noisyfix.quality.systematic`).

    Attributes
    ----------
    llr_midpoint, llr_scale : float
        A restoration whose mean log-likelihood ratio per changed pixel is ``m`` gets the weight
        ``1 / (1 + exp(-(m - llr_midpoint) / llr_scale))``. At the midpoint 1 the model finds the
        restored labels on average ``e`` times likelier than the given ones (the natural unit of
        a log ratio); ``llr_scale`` is the width of the transition. The weight orders the
        uncalibrated queue; the calibration takes it as a feature.
    coarse_angles : tuple of int
        Rotations (degrees) tried in the coarse pass at half resolution: the range of a
        misregistered mask, in steps the fine pass closes.
    fine_range : int
        The best coarse rotation is refined at full resolution over every degree within
        +- this many degrees: about half the coarse step.
    max_shift_share, min_shift
        Largest translation tried: this share of the longer image side, at least ``min_shift``
        pixels.
    max_radius_share : float
        Largest erosion or dilation radius tried, as a multiple of the median object radius:
        beyond it an eroded object would vanish.
    min_weight : float
        A fit enters the review queue as a region from this weight on: the restoration is at
        least as likely as not.
    absorb_share : float
        An outline region with at least this share of its pixels among those a whole-mask
        region changes merges into it: most of it is explained by the whole-mask error.
    """

    llr_midpoint: float = 1.0
    llr_scale: float = 0.3
    coarse_angles: tuple[int, ...] = (-15, -10, -5, 0, 5, 10, 15)
    fine_range: int = 2
    max_shift_share: float = 0.1
    min_shift: int = 8
    max_radius_share: float = 1.0
    min_weight: float = 0.5
    absorb_share: float = 0.5


@dataclass(frozen=True)
class OutlierParams:
    """When an object is unlike its peers (:mod:`~napari_noisyfix.quality.outliers`).

    Attributes
    ----------
    z_threshold : float
        Robust z-score (median / MAD) of the distance to the nearest cluster centre above which
        an object is an outlier: 3.5, the usual cut-off of the modified z-score (Iglewicz and
        Hoaglin).
    min_spread : float
        Smallest spread of the distances, as a share of their median, used by the robust z-score:
        near-identical objects do not turn tiny differences into outliers.
    tiny_cluster : float
        Clusters holding fewer than this share of all objects are tiny: their members are
        outliers too.
    """

    z_threshold: float = 3.5
    min_spread: float = 0.2
    tiny_cluster: float = 0.02


@dataclass(frozen=True)
class ScoringParams:
    """Project statistics shared by all images and the cache's tolerances
    (:mod:`~napari_noisyfix.quality.thresholds`, :mod:`~napari_noisyfix.quality.prior_shift`,
    :mod:`~napari_noisyfix.quality.score`).

    Attributes
    ----------
    default_threshold : float
        Threshold of a class no pixel is labelled with (nothing to average): even odds.
    min_threshold : float
        Lower bound of a class threshold, which keeps a collapsed class from being confident
        everywhere.
    threshold_drift : float
        Class thresholds may drift this much before every image is analysed again; smaller
        drifts reuse the cached analyses (a trade of scoring time against staleness).
    shift_drift : float
        The same tolerance for the foreground log-odds shift.
    logodds_edges : tuple
        ``(low, high, bins)`` of the foreground log-odds histogram: ``bins`` equal bins between
        ``low`` and ``high`` (0.05 wide), values beyond fall in the end bins. The range covers
        probabilities down to about 6e-6.
    max_fg_shift : float
        Largest foreground shift either way (log-odds): a model that far off the labels is not
        corrected further.
    pool_min_analyses : int
        Fewest image analyses each worker process must get before the per-image analysis runs
        in a pool (:mod:`~napari_noisyfix.quality.pool`): a worker's start (a Python process
        importing numpy and scipy, 1-3 s) costs about as much as 20-60 analyses of a 128-256
        px image; below this the work runs in the calling process. A property of the software,
        not of any dataset.
    """

    default_threshold: float = 0.5
    min_threshold: float = 0.05
    threshold_drift: float = 0.02
    shift_drift: float = 0.1
    logodds_edges: tuple[float, float, int] = (-12.0, 12.0, 480)
    max_fg_shift: float = 3.0
    pool_min_analyses: int = 60


@dataclass(frozen=True)
class QueueParams:
    """Which regions the review queue holds (:mod:`~napari_noisyfix.quality.queue`).

    Attributes
    ----------
    reviewed_share : float
        A region leaves the queue once at least this share of its pixels has been reviewed.
    min_prob_correct : float
        A region enters the queue when accepting its proposal is at least this likely to help:
        below, accepting it is expected to break more than it fixes. Such regions stay in the
        region table and the error map.
    """

    reviewed_share: float = 0.5
    min_prob_correct: float = 0.5


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
    morph_share : float
        Planted dilations and erosions have a radius from 1 px up to this share of the median
        object radius (:mod:`~napari_noisyfix.quality.planting`).
    max_angle, max_shift : float
        Planted misalignments rotate by up to ``max_angle`` degrees either way and shift by up
        to ``max_shift`` of the image side on each axis.
    scales : tuple of int
        Resolutions (times the mask's) at which errors are planted, equally often.
        The planted sizes span a wide range relative to the mask's own objects: the calibration
        must see small errors as well as large ones, not the sizes of one dataset's noise.
    pixels_per_image : int
        Most pixels sampled from each calibration mask for the pixel model.
    pixel_candidate : float
        Pixels whose uncalibrated error score reaches this are always among the sampled pixels
        (with wrong and flagged ones); the others are subsampled.
    folds : int
        Cross-fitting folds over the calibration images' groups; the image model chooses its
        regularisation by cross-validation over ``folds + 1`` groups.
    regularisation : tuple of float
        Inverse regularisation strengths the image model chooses from; the first one wins ties,
        as when the project is too small to cross-validate.
    screen : bool
        Judge the calibration's own untouched masks once fitted, set aside those it finds more
        likely wrong than right, and fit the image models again
        (:func:`~.calibration.fit_calibration`): the calibration images are drawn from the
        least suspicious masks, but in a noisy project some of them hold real errors, and they
        would teach it that such errors look right.
    trust : bool
        Weigh each untouched calibration mask, in the image models and the stack, by how far
        the softmin believes it correct (:func:`~.calibration._trust`), for the same reason:
        the screen catches the masks the image model doubts, this the real errors it was
        taught to call correct.
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
    morph_share: float = 0.6
    max_angle: float = 10.0
    max_shift: float = 0.05
    scales: tuple[int, ...] = (1, 2, 4)
    pixels_per_image: int = 1500
    pixel_candidate: float = 0.05
    folds: int = 2
    regularisation: tuple[float, ...] = (1.0, 0.01, 0.03, 0.1, 0.3, 3.0, 10.0)
    screen: bool = True
    trust: bool = True
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


@dataclass(frozen=True)
class InstanceParams:
    """When one labelled object reads as several, or several as one
    (:mod:`~napari_noisyfix.quality.instances`, instance projects only).

    Attributes
    ----------
    neck_share : float
        Two maxima of an object's distance transform are two objects when the neck between them
        (the distance transform's saddle) is narrower than this share of the thinner one; the
        same rule, failing, makes touching pieces one object.
    min_depth : float
        Smallest depth (pixels) of a distance-transform maximum: outline jitter makes bumps of
        about a pixel.
    piece_share : float
        Smallest proposed piece of a split, as a share of the median object area (and at least
        the finder's smallest region).
    contact_share : float
        Touching pieces are merged only when they touch along at least this share of the smaller
        one's equivalent diameter.
    solidity_quantile : float
        The image's own objects set how convex one object is: touching pieces read as one object
        only when their union is at least as solid (area over convex hull) as this quantile of
        the image's objects, and one object reads as several only when it is less solid. (On
        the DSB 2018 fluorescence masks the union of two touching nuclei has a median solidity
        of 0.88, a single nucleus 0.96.)
    low_solidity_quantile : float
        An object less solid than this quantile of the image's objects reads as several even
        when its distance transform shows no narrow neck (two nuclei pressed flat together).
    """

    neck_share: float = 0.7
    min_depth: float = 1.0
    piece_share: float = 0.2
    contact_share: float = 0.5
    solidity_quantile: float = 0.25
    low_solidity_quantile: float = 0.05


@dataclass(frozen=True)
class QualityParams:
    """All fixed parameters of the quality stage, one group per concern.

    Attributes
    ----------
    finder : FinderParams
    evidence : EvidenceParams
    whole_mask : WholeMaskParams
    outliers : OutlierParams
    scoring : ScoringParams
    queue : QueueParams
    calibration : CalibrationParams
    verdict : VerdictParams
    instances : InstanceParams
    """

    finder: FinderParams = field(default_factory=FinderParams)
    evidence: EvidenceParams = field(default_factory=EvidenceParams)
    whole_mask: WholeMaskParams = field(default_factory=WholeMaskParams)
    outliers: OutlierParams = field(default_factory=OutlierParams)
    scoring: ScoringParams = field(default_factory=ScoringParams)
    queue: QueueParams = field(default_factory=QueueParams)
    calibration: CalibrationParams = field(default_factory=CalibrationParams)
    verdict: VerdictParams = field(default_factory=VerdictParams)
    instances: InstanceParams = field(default_factory=InstanceParams)


#: The parameters every module of the quality stage reads.
PARAMS = QualityParams()
