"""The update guard: an update never replaces a model by one that is worse on trusted pixels.

Before :func:`~.update.update` commits a version, each updated model (the final one and every
fold model) is judged against its parent on trusted pixels that *neither* learnt:

- :func:`held_back` picks a seeded share of the patients that have trusted pixels (reviewed
  pixels, clean-subset images). A patient's draw is a hash of the seed and its id; a patient
  held back once stays held back in every later update, and one whose trusted pixels an earlier
  update learnt is never held back, so the parent (itself an update) never learnt what judges
  it either.
- The **final model** trains on everything else, with the held-back images' reviewed pixels at
  weight 0 (their unreviewed pixels keep their low weight), and is judged on those reviewed
  pixels. Held-back *clean-subset* images are not used to judge it, and it keeps training on
  them: the parent's first training learnt those very labels, so on them the parent would be
  judged in-sample. On reviewed pixels the parent learnt only the labels as first given (wrong
  where the expert corrected them, right where the expert confirmed them).
- A **fold model** already trains on only the reviewed pixels of the images it holds out
  (:func:`~.update.held_out_view`); the held-back ones among them are left out of its update
  and judge it, clean-subset images included: neither the parent fold model nor the updated one
  ever trained on any pixel of them.

What judges a model (:func:`judge_sample`) is, where there are at least
:data:`MIN_WHOLE_IMAGES` of them, only its held-back images whose *every* pixel is trusted
(clean-subset images, images reviewed in full): the **whole-image judge**. Reviewed regions are
where the errors were, not a sample of the image: a model that loses test Dice on the pixels
nobody reviewed can still gain on them (``BENCHMARKS.md``, the fluorescence loop with frozen
batch-norm statistics). The final model's whole images include the held-back clean-subset
images, which it keeps training on and its parent learnt: on them both models are judged on
labels they learnt, which is where a collapse shows. Without enough whole images the judge is
the held-back images' trusted pixels (the **region judge**, as above). Each judgement says
which (``Judgement.judge``).

The judgement (:func:`judge`) compares the foreground Dice of the two models' argmax on the
held-back trusted pixels, pooled, and their pixel log-loss. Its unit is a connected run of
trusted pixels (a reviewed region, a clean image): the tolerance of each score is the standard
error of its difference from a seeded bootstrap over those units, so it comes from the data. The
updated model is kept unless its Dice is lower, or its log-loss higher, than the parent's by more
than :data:`GUARD_Z` standard errors. Both are needed: a model that collapsed to "all
foreground" can gain Dice on foreground-heavy reviewed regions while its log-loss explodes, and
an argmax that flips on barely confident pixels loses Dice at a lower log-loss. When it is worse,
the new version keeps the parent's weights for that model (the version is still created, so
the corrections it was given are recorded and the next update resumes from the better weights).
With fewer than :data:`MIN_UNITS` held-back units the model is "not judged" and the update is
kept. The cost: the held-back patients' corrections never reach the final model's weights (they
do reach the working masks, the exports and the other folds' models); ``guard=False`` trains on
every correction and judges nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import ndimage

#: Share of the patients with trusted pixels held back to judge an update.
GUARD_SHARE = 0.2
#: An updated model is replaced by its parent when its Dice on the held-back trusted pixels is
#: lower, or its log-loss higher, by more than this many standard errors of the difference.
GUARD_Z = 1.0
#: The fewest held-back units (connected runs of trusted pixels) a standard error is taken from.
MIN_UNITS = 2
#: Bootstrap resamples of the held-back units.
BOOTSTRAP = 1000
#: The judges (:func:`judge_sample`): held-back images trusted in full, or trusted pixels.
WHOLE, REGIONS = "whole images", "reviewed regions"
#: The fewest held-back images trusted in full that the whole-image judge takes.
MIN_WHOLE_IMAGES = MIN_UNITS


def _draw(seed: int, patient: str) -> float:
    """A patient's fixed uniform draw in [0, 1) for ``seed`` (the same in every update)."""
    digest = hashlib.sha256(f"{seed}:{patient}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def held_back(
    project, names: list[str], trusted: dict, share: float, seed: int, kept=(), learnt=()
) -> list[str]:
    """Images of the patients held back from the update to judge it.

    Parameters
    ----------
    project : Project
        Gives each image's patient.
    names : list of str
        The project's images.
    trusted : dict
        Trusted-pixel maps by image; only patients with trusted pixels are held back.
    share : float
        A patient is held back when its seeded draw is below it (so a project with few reviewed
        patients may hold back none, and its update is not judged: never more than this share
        of the corrections is kept from the final model).
    seed : int
        Seeds the draws (keep it for a chain of updates).
    kept : iterable of str
        Images the parent's update held back: their patients stay held back, so the parent
        never learnt what judges it.
    learnt : iterable of str
        Images whose trusted pixels the parent learnt (an earlier update trained on them):
        their patients are never held back, for the same reason.
    """
    patients = {project.patient(n) for n in names if trusted[n].any()}
    learnt = {project.patient(n) for n in learnt if n in names}
    chosen = {project.patient(n) for n in kept if n in names} & patients
    draws = {p: _draw(seed, p) for p in patients - learnt - chosen}
    chosen |= {p for p in draws if draws[p] < share}
    return sorted(n for n in names if trusted[n].any() and project.patient(n) in chosen)


def judge_sample(images: list[str], regions: list[str], trusted: dict) -> tuple[str, list[str]]:
    """The judge of a model and the images it judges on: those of ``images`` trusted in full,
    when there are at least :data:`MIN_WHOLE_IMAGES` (:data:`WHOLE`); else ``regions``, the
    held-back images whose trusted pixels judge it (:data:`REGIONS`)."""
    whole = [n for n in images if trusted[n].all()]
    if len(whole) >= MIN_WHOLE_IMAGES:
        return WHOLE, whole
    return REGIONS, list(regions)


@dataclass
class Judgement:
    """Parent against updated model on held-back trusted pixels, and what was kept."""

    model: str
    judged: bool
    kept: str  # "update" or "parent"
    reason: str
    images: list[str] = field(default_factory=list)
    units: int = 0
    pixels: int = 0
    dice: dict = field(default_factory=dict)  # parent, update, diff, se
    log_loss: dict = field(default_factory=dict)  # parent, update, diff, se
    judge: str = REGIONS  # WHOLE or REGIONS: what it was judged on

    def to_dict(self) -> dict:
        return asdict(self)


def not_judged(model: str, images: list[str], units: list, kind: str = REGIONS) -> Judgement:
    """The update is kept because too few trusted pixels were held back to judge it."""
    reason = (
        f"not judged: {len(units)} held-back trusted region(s) in {len(images)} image(s), "
        f"{MIN_UNITS} needed"
    )
    pixels = int(sum(where.sum() for _, where in units))
    return Judgement(model, False, "update", reason, list(images), len(units), pixels, judge=kind)


def _units(trusted: dict, names: list[str]) -> list[tuple[str, np.ndarray]]:
    """The connected runs of trusted pixels of ``names``, as (image, bool map)."""
    units = []
    for name in names:
        labels, n = ndimage.label(trusted[name])
        units += [(name, labels == i) for i in range(1, n + 1)]
    return units


def _terms(probs: np.ndarray, mask: np.ndarray, where: np.ndarray) -> np.ndarray:
    """Per unit: foreground overlap, predicted and true foreground, log-loss sum, pixels."""
    p = np.nan_to_num(probs[:, where].astype(np.float64), nan=0.0)  # a diverged model: 0
    target = mask[where].astype(np.int64)
    pred = p.argmax(0)
    fg_p, fg_t = pred > 0, target > 0
    overlap = float((fg_p & fg_t & (pred == target)).sum())
    nll = -np.log(np.clip(np.take_along_axis(p, target[None], 0)[0], 1e-7, 1)).sum()
    return np.array([overlap, fg_p.sum(), fg_t.sum(), nll, where.sum()], np.float64)


def _scores(terms: np.ndarray) -> tuple[float, float]:
    """Pooled Dice (1 when nothing is foreground) and mean log-loss of summed unit terms."""
    total = terms[..., 1] + terms[..., 2]
    dice = np.where(total > 0, 2 * terms[..., 0] / np.maximum(total, 1), 1.0)
    return dice, terms[..., 3] / terms[..., 4]


def judge(
    model, project, images, trusted, parent_probs, updated_probs, seed, kind=REGIONS
) -> Judgement:
    """Judge the updated model against its parent on the trusted pixels of ``images``.

    Parameters
    ----------
    model : str
        Which model ("final model", "fold 2").
    project : Project
        Source of the working masks (the trusted labels).
    images : list of str
        The held-back images neither model trained on.
    trusted : dict
        Trusted-pixel maps by image.
    parent_probs, updated_probs : dict
        Each model's probabilities (C, H, W) of ``images``.
    seed : int
        Seeds the bootstrap.
    kind : str
        The judge ``images`` were chosen for (:func:`judge_sample`), recorded.
    """
    units = _units(trusted, images)
    if len(units) < MIN_UNITS:
        return not_judged(model, images, units, kind)
    masks = {n: project.mask(n) for n in images}
    terms = np.stack(
        [
            [_terms(probs[n], masks[n], where) for n, where in units]
            for probs in (parent_probs, updated_probs)
        ]
    )  # (2 models, units, 5)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(units), size=(BOOTSTRAP, len(units)))
    boot = terms[:, picks].sum(axis=2)  # (2, B, 5)
    (dice_p, loss_p), (dice_u, loss_u) = (_scores(t) for t in terms.sum(axis=1))
    dice_b, loss_b = _scores(boot)
    dice = _compare(dice_p, dice_u, dice_b[1] - dice_b[0])
    loss = _compare(loss_p, loss_u, loss_b[1] - loss_b[0])
    worse = [
        name
        for name, score, sign in (("Dice", dice, -1), ("log-loss", loss, 1))
        if sign * score["diff"] > GUARD_Z * score["se"]
    ]
    reason = (
        f"{kind} judge, on {len(units)} held-back trusted region(s) of {len(images)} image(s): "
        f"Dice update {dice['update']:.3f}, parent {dice['parent']:.3f} "
        f"({dice['diff']:+.3f} +- {dice['se']:.3f}); log-loss update {loss['update']:.3f}, "
        f"parent {loss['parent']:.3f} ({loss['diff']:+.3f} +- {loss['se']:.3f}); "
        + (
            f"{' and '.join(worse)} worse by more than {GUARD_Z:g} standard error(s)"
            if worse
            else f"neither worse by more than {GUARD_Z:g} standard error(s)"
        )
    )
    kept = "parent" if worse else "update"
    pixels = int(terms[0, :, 4].sum())
    return Judgement(model, True, kept, reason, list(images), len(units), pixels, dice, loss, kind)


def _compare(parent: float, updated: float, boot: np.ndarray) -> dict:
    return {
        "parent": float(parent),
        "update": float(updated),
        "diff": float(updated - parent),
        "se": float(np.std(boot, ddof=1)),
    }


def summary(judgements: list[Judgement]) -> str:
    """One line over every model: which kept the parent, which were updated or not judged."""
    kept = [j.model for j in judgements if j.kept == "parent"]
    unjudged = [j.model for j in judgements if not j.judged]
    text = "update guard: "
    text += f"kept the parent's weights for {', '.join(kept)}" if kept else "no model got worse"
    text += f"; {len(judgements) - len(kept) - len(unjudged)} updated after judging"
    if unjudged:
        text += f", {len(unjudged)} not judged (too few held-back trusted pixels)"
    whole = [j.model for j in judgements if j.judged and j.judge == WHOLE]
    text += f"; judged on whole images: {', '.join(whole)}" if whole else ""
    return text


def guard_record(on: bool, seed: int, held: list[str], judgements: list[Judgement]) -> dict:
    """What a version records of its guard (``meta["guard"]``, the audit row's ``guard``)."""
    if not on:
        return {"on": False}
    return {
        "on": True,
        "seed": int(seed),
        "share": GUARD_SHARE,
        "held_back": list(held),
        "models": [j.to_dict() for j in judgements],
        "kept_parent": [j.model for j in judgements if j.kept == "parent"],
        "summary": summary(judgements),
    }


def version_summary(project, version: int | None) -> str | None:
    """The guard's one line for ``version`` from the audit log (no weights read), or None when
    the version is not an update or was made before the guard."""
    for row in reversed(project.log.rows("update")):
        if row["model_version"] == version:
            guard = row["details"].get("guard")
            if guard is None:
                return None
            return guard["summary"] if guard["on"] else record_text(guard)[0]
    return None


def record_text(record: dict) -> list[str]:
    """Lines of a version's guard record (``meta["guard"]``), for the CLI."""
    if not record.get("on"):
        return ["update guard: off (every model updated, none judged)"]
    return [record["summary"]] + [
        f"  {j['model']}: {j['kept']}: {j['reason']}" for j in record["models"]
    ]
