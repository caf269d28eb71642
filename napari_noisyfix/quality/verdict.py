"""Can the model judge these masks? The verdict a person reads, from the held-out calibration.

The calibration (:mod:`~napari_noisyfix.quality.calibration`) is cross-fitted: each half of the
calibration images is scored by models fitted on the other half. How well those scores tell the
planted errors from the untouched masks is the honest measure of what the queue is worth on this
project, and in particular for errors as small as the model's own disagreement with the labels:
below that size, what the model flags is as likely its own mistake as the annotator's.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from .params import PARAMS, VerdictParams

STATUSES = ("good", "limited", "weak", "uncalibrated")
ADVICE = (
    "train longer (`noisyfix train --epochs N`) or on a GPU",
    "mark masks you trust as a clean subset (`noisyfix import --clean LIST`)",
    "train at a larger image size (`noisyfix train --image-size N`)",
)


@dataclass
class Verdict:
    """How well the model can find errors in this project's masks.

    Attributes
    ----------
    status : str
        ``good`` (the queue can be trusted), ``limited``, ``weak`` (the model cannot judge the
        masks: the tool warns) or ``uncalibrated`` (too few images to calibrate).
    image_auroc : float
        Held-out AUROC of the image score for "this mask holds a planted error".
    region_auroc : float
        Held-out AUROC of the region probability for "this region is a planted error".
    small_auroc : float
        ``image_auroc`` for planted errors no larger (in Dice) than the model's own disagreement.
    dice_r : float
        Held-out Pearson r of the estimated against the true Dice of the calibration masks.
    model_dice : float
        Median Dice of the model's labels against the given masks of the calibration images.
    n_images, n_planted, n_regions : int
        Calibration images, copies with a planted error, regions labelled.
    n_set_aside : int
        Calibration images left out because the calibration judged their own mask wrong.
    note : str
        Why the project is uncalibrated, when it is.
    """

    status: str = "uncalibrated"
    image_auroc: float = math.nan
    region_auroc: float = math.nan
    small_auroc: float = math.nan
    dice_r: float = math.nan
    model_dice: float = math.nan
    n_images: int = 0
    n_planted: int = 0
    n_regions: int = 0
    n_set_aside: int = 0
    note: str = ""
    advice: list[str] = field(default_factory=list)

    @classmethod
    def judge(cls, params: VerdictParams = PARAMS.verdict, **figures) -> Verdict:
        """The verdict for held-out ``figures`` (the attributes above but status and advice)."""
        out = cls(**figures)
        bars = [out.image_auroc, out.region_auroc]
        small = out.small_auroc
        weak = any(_below(b, params.weak) for b in bars) or _below(small, params.weak)
        if weak or _below(out.dice_r, params.min_dice_r):
            out.status = "weak"
        elif all(not _below(b, params.good) for b in bars):
            out.status = "good"
        else:
            out.status = "limited"
        out.advice = list(ADVICE) if out.status != "good" else []
        return out

    @classmethod
    def uncalibrated(cls, note: str) -> Verdict:
        """The verdict of a project that could not be calibrated (``note`` says why)."""
        return cls(status="uncalibrated", note=note, advice=list(ADVICE[1:2]))

    @property
    def warning(self) -> str | None:
        """A plain warning when the queue should not be trusted, else None."""
        if self.status == "weak":
            return (
                "The model cannot reliably judge these masks: shown a mask with an error planted "
                "in it and an untouched one, it picks the wrong one too often (it ranks them "
                f"right {_pct(self.image_auroc)} of the time, where 50% is chance; "
                f"{_pct(self.small_auroc)} for errors as small as its own disagreement with the "
                "labels). Its flags may be its own mistakes. What would help: "
                + "; ".join(self.advice)
                + "."
            )
        if self.status == "uncalibrated":
            return f"Scores are not calibrated on this project ({self.note})."
        return None

    def text(self) -> str:
        """The verdict in one paragraph of plain words (with the advice, unless the
        :attr:`warning` gives it)."""
        head = {
            "good": "The model can judge these masks",
            "limited": "The model judges these masks with limits",
            "weak": "Warning: the model is too weak to judge these masks",
            "uncalibrated": "Not calibrated",
        }[self.status]
        if self.status == "uncalibrated":
            return f"{head}: {self.note}."
        body = (
            f"{head}: of {self.n_planted} errors planted in {self.n_images} of the project's own "
            f"masks, it ranks a mask with an error above an untouched one {_pct(self.image_auroc)} "
            f"of the time (50% is chance; {_pct(self.small_auroc)} for errors as small as its "
            f"own disagreement with the labels) and a planted error's region above other regions "
            f"{_pct(self.region_auroc)} of the time (image and region AUROC); its estimate of "
            f"each mask's Dice follows the true one with r = {_fmt(self.dice_r)}; it agrees with "
            f"the labels at Dice {_fmt(self.model_dice)}."
        )
        if self.n_set_aside:
            body += (
                f" {self.n_set_aside} masks drawn to be planted in looked wrong to it and were "
                "left out of the calibration."
            )
        if not self.advice or self.status == "weak":  # a weak verdict's warning gives the advice
            return body
        return body + " What would help: " + "; ".join(self.advice) + "."

    def to_dict(self) -> dict:
        """JSON-ready (NaN as None)."""
        return {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: dict) -> Verdict:
        """Inverse of :meth:`to_dict`."""
        known = {
            k: (math.nan if v is None else v)
            for k, v in data.items()
            if k in cls.__dataclass_fields__
        }
        return cls(**known)


def _below(value: float, bar: float) -> bool:
    return not math.isnan(value) and value < bar


def _fmt(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.2f}"


def _pct(value: float) -> str:
    """An AUROC as the share of pairs ranked right (``93%``)."""
    return "n/a" if value is None or math.isnan(value) else f"{value:.0%}"
