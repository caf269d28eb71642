"""The :class:`Region` record: one candidate label error with its proposed fix."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import NoisyFixError
from .reasons import kind_words

#: Kinds of instance projects: one object that should be several, several that should be one.
INSTANCE_KINDS = ("merged", "split")
KINDS = ("missing", "spurious", "too_wide", "too_narrow", "shifted", "outlier", *INSTANCE_KINDS)
#: ``object``: one object's error; ``image``: the whole mask is off in one coherent way.
SCOPES = ("object", "image")
ROW_FIELDS = (
    "id",
    "image",
    "kind",
    "cls",
    "score",
    "prob_correct",
    "gain",
    "area",
    "r0",
    "c0",
    "r1",
    "c1",
    "reason",
    "scope",
    "dice_gain",
    "detail",
)


@dataclass
class Region:
    """A connected candidate label error in one image.

    Attributes
    ----------
    id : str
        ``"<image>#<k>"``.
    image : str
        Image name.
    kind : str
        One of :data:`KINDS`.
    cls : int
        The class involved (the object's class).
    score : float
        Probability that the given label is wrong here (0..1): calibrated on errors planted in the
        project's own masks once the project is scored (before that, the model's mean doubt
        about the given labels).
    prob_correct : float
        Probability that accepting the proposal brings the mask closer to the truth: calibrated
        the same way (before that, the model's mean belief in the proposed labels times the
        image's error evidence).
    gain : float
        Expected pixels fixed: pixels the proposal changes times ``prob_correct``.
    area : int
        Pixels in ``region``.
    bbox : tuple
        ``(r0, c0, r1, c1)``, half-open, in image coordinates.
    region : ndarray
        bool, bbox-shaped: the pixels concerned.
    proposal : ndarray
        uint8, bbox-shaped: the labels the model proposes (meaningful where ``region``); for the
        :data:`INSTANCE_KINDS` the proposed objects, numbered 1, 2, ... (their class is ``cls``;
        see :attr:`labels`).
    reason : str
        Short human-readable explanation.
    scope : str
        ``"object"`` (one object or outline) or ``"image"`` (a whole-mask error: every outline
        too wide or too narrow, or the mask misaligned; see
        :mod:`~napari_noisyfix.quality.systematic`).
    features : ndarray, optional
        The region's evidence (:data:`~napari_noisyfix.quality.features.REGION_FEATURES`), from
        which the project's calibration computes ``score``, ``prob_correct`` and the gains.
    dice_gain : float
        Expected gain in the image's Dice: ``prob_correct`` times the Dice change the proposal
        makes (the review queue's order).
    detail : str
        The transform a whole-mask region undoes, in words (``"erode by 2.0 px"``).
    """

    id: str
    image: str
    kind: str
    cls: int
    score: float
    prob_correct: float
    gain: float
    area: int
    bbox: tuple[int, int, int, int]
    region: np.ndarray
    proposal: np.ndarray
    reason: str = ""
    scope: str = "object"
    features: np.ndarray | None = field(default=None, repr=False, compare=False)
    dice_gain: float = 0.0
    detail: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise NoisyFixError(f"{self.id}: unknown region kind {self.kind!r}")
        if self.scope not in SCOPES:
            raise NoisyFixError(f"{self.id}: unknown region scope {self.scope!r}")
        r0, c0, r1, c1 = (int(v) for v in self.bbox)
        self.bbox = (r0, c0, r1, c1)
        if self.region.shape != (r1 - r0, c1 - c0) or self.proposal.shape != self.region.shape:
            raise NoisyFixError(f"{self.id}: region/proposal shapes do not match bbox {self.bbox}")

    @property
    def label(self) -> str:
        """The kind in the reviewer's words (``"outline drawn too wide"``, ``"whole mask
        misaligned with the image"``)."""
        return kind_words(self.kind, self.scope)

    @property
    def labels(self) -> np.ndarray:
        """The proposed class labels (bbox-shaped): the proposal, or for a merge or split the
        class ``cls`` on every proposed object (the union does not change)."""
        if self.kind in INSTANCE_KINDS:
            return np.where(self.proposal > 0, self.cls, 0).astype(np.uint8)
        return self.proposal

    def judge(self, p_error: float, p_helps: float, dice_change: float) -> None:
        """Set ``score`` and ``prob_correct`` and the gains that follow from them."""
        self.score, self.prob_correct = float(p_error), float(p_helps)
        self.gain = self.area * self.prob_correct
        self.dice_gain = self.prob_correct * float(dice_change)

    @property
    def slices(self) -> tuple[slice, slice]:
        """Slices of the bounding box in image coordinates."""
        r0, c0, r1, c1 = self.bbox
        return slice(r0, r1), slice(c0, c1)

    def full_region(self, shape: tuple[int, int]) -> np.ndarray:
        """The region as an image-shaped bool array."""
        out = np.zeros(shape, dtype=bool)
        out[self.slices] = self.region
        return out

    def apply(self, mask: np.ndarray) -> np.ndarray:
        """Return a copy of ``mask`` with the proposal written where the region is."""
        r0, c0, r1, c1 = self.bbox
        if mask.ndim != 2 or r1 > mask.shape[0] or c1 > mask.shape[1]:
            raise NoisyFixError(
                f"{self.id}: mask of shape {mask.shape} does not hold bbox {self.bbox}"
            )
        out = np.array(mask, copy=True)
        window = out[self.slices]
        window[self.region] = self.labels[self.region].astype(out.dtype)
        return out

    def changed_pixels(self, mask: np.ndarray) -> int:
        """How many pixels of ``mask`` the proposal would change."""
        window = np.asarray(mask)[self.slices]
        return int(np.count_nonzero(self.region & (window != self.labels)))

    def to_row(self) -> dict:
        """A flat dict for the region table (CSV), in :data:`ROW_FIELDS` order."""
        r0, c0, r1, c1 = self.bbox
        return {
            "id": self.id,
            "image": self.image,
            "kind": self.kind,
            "cls": int(self.cls),
            "score": round(float(self.score), 6),
            "prob_correct": round(float(self.prob_correct), 6),
            "gain": round(float(self.gain), 4),
            "area": int(self.area),
            "r0": r0,
            "c0": c0,
            "r1": r1,
            "c1": c1,
            "reason": self.reason,
            "scope": self.scope,
            "dice_gain": round(float(self.dice_gain), 6),
            "detail": self.detail,
        }


def renumber(regions: list[Region], image: str) -> list[Region]:
    """Give ``regions`` the ids ``<image>#0``, ``<image>#1``, ... in their order."""
    for k, reg in enumerate(regions):
        reg.id = f"{image}#{k}"
    return regions
