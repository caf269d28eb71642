"""Per-project calibration: what the evidence is worth, learnt from errors planted in the
project's own masks under its own out-of-fold probabilities.

Three stages, each fitted on the examples of :mod:`~napari_noisyfix.quality.calibration_data`
with scikit-learn's gradient-boosted trees (logistic regression for the pixels):

1. **Regions**: from a region's evidence, the probability that it is an error (``score``) and
   the probability that accepting its proposal brings the mask closer to the truth
   (``prob_correct``); ``gain`` (pixels) and ``dice_gain`` (the queue's order) follow.
2. **Images**: from image evidence and the calibrated regions, the probability that the mask
   holds an error and its estimated Dice against the truth (``est_dice``); the image's
   ``error_score`` stacks the two with cleanlab's softmin of the given-label probability (a
   logistic fit on their held-out outputs): each is a noisy reading of the same question, and
   one alone swings with the planting's draw.
3. **Pixels**: the error map, a logistic combination of the pixel's own doubt, the uncalibrated
   map, the calibrated probability of the regions covering it and the image's probability.

Stages 2 and 3 are fitted on cross-fitted (held-out) outputs of the stages before, and the
calibration images themselves are scored by the models that did not see them. The held-out
figures make the :class:`~napari_noisyfix.quality.verdict.Verdict`.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy import optimize
from scipy import stats as sstats
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from .calibration_data import Sample, _logit
from .features import FEATURE_INDEX as _COL
from .features import IMAGE_FEATURES, REGION_FEATURES, image_design, image_features
from .params import PARAMS, CalibrationParams
from .reasons import region_reason
from .region import Region
from .verdict import Verdict


def _one_thread(func):
    """Run ``func`` with scikit-learn's OpenMP and BLAS pools at one thread.

    The calibration fits and predicts with a few thousand rows at most, where a second thread
    costs more in hand-offs than it saves: one thread fits the same models (identical output)
    about 20% faster on an idle two-core machine, and three times faster when the other core
    is busy (a training run, the GUI), where OpenMP's threads wait on each other.
    """

    @functools.wraps(func)
    def run(*args, **kwargs):
        with threadpool_limits(1):
            return func(*args, **kwargs)

    return run


class _Constant:
    """A model that predicts one value (a stage whose labels are all alike)."""

    def __init__(self, value: float):
        self.value = float(value)

    def predict_proba(self, X):
        p = np.full(len(X), self.value)
        return np.stack([1 - p, p], 1)

    def predict(self, X):
        return np.full(len(X), self.value)


class _Monotone:
    """Logistic regression whose weights are all at least zero (the intercept is free and not
    penalised), fitted by L-BFGS-B on scikit-learn's objective: half the squared weights plus
    ``C`` times the weighted log-loss.

    A stack of several readings of one question (is this mask wrong?) must not turn one of them
    against itself: with correlated inputs an unconstrained fit can give one a negative weight
    that only fits the calibration's draw (non-negative stacking, Breiman 1996, "Stacked
    regressions"). The score then never falls when any reading grows more doubtful.
    """

    def __init__(self, X, y, w, C: float = 1.0):
        X, y, w = np.asarray(X, np.float64), np.asarray(y, np.float64), np.asarray(w, np.float64)

        def loss(theta):
            z = X @ theta[1:] + theta[0]
            value = C * np.sum(w * (np.logaddexp(0.0, z) - y * z)) + 0.5 * theta[1:] @ theta[1:]
            g = C * w * (sstats.logistic.cdf(z) - y)
            return value, np.concatenate([[g.sum()], X.T @ g + theta[1:]])

        bounds = [(None, None)] + [(0.0, None)] * X.shape[1]
        start = np.zeros(X.shape[1] + 1)
        found = optimize.minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds)
        self.intercept_, self.coef_ = float(found.x[0]), found.x[1:]

    def predict_proba(self, X):
        p = sstats.logistic.cdf(np.asarray(X, np.float64) @ self.coef_ + self.intercept_)
        return np.stack([1 - p, p], 1)


def _classifier(X, y, w, params: CalibrationParams):
    y = np.asarray(y, bool)
    if len(y) == 0 or y.all() or not y.any():
        return _Constant(float(y.mean()) if len(y) else 0.0)
    model = HistGradientBoostingClassifier(**_boosting(params))
    return model.fit(X, y, sample_weight=w)


def _regressor(X, y, w, params: CalibrationParams):
    if len(y) == 0 or np.ptp(y) == 0:
        return _Constant(float(np.mean(y)) if len(y) else 1.0)
    return HistGradientBoostingRegressor(**_boosting(params)).fit(X, y, sample_weight=w)


def _linear(X, y, w, groups, params: CalibrationParams):
    """Standardised logistic regression with its regularisation chosen by cross-validation over
    the calibration images (``groups``): the image stage has a few hundred examples, and a
    linear model in logit space ranks images it has not seen without the ties and plateaus of
    trees fitted on so few."""
    y = np.asarray(y, bool)
    if len(y) == 0 or y.all() or not y.any():
        return _Constant(float(y.mean()) if len(y) else 0.0)

    n_folds = min(params.folds + 1, len(set(groups)))
    folds = list(GroupKFold(n_folds).split(X, y, groups)) if n_folds >= 2 else []
    splits = []  # standardised once per split, shared by every strength tried
    for a, b in folds:
        if 0 < y[a].sum() < len(a) and 0 < y[b].sum() < len(b):
            scaler = StandardScaler().fit(X[a])
            splits.append(((scaler.transform(X[a]), y[a], w[a]), (scaler.transform(X[b]), y[b])))
    best = max(
        params.regularisation,
        key=lambda c: _cv_auroc(LogisticRegression(C=c, max_iter=1000), splits),
    )
    model = make_pipeline(StandardScaler(), LogisticRegression(C=best, max_iter=1000))
    return model.fit(X, y, logisticregression__sample_weight=w)


def _cv_auroc(model, splits) -> float:
    """Mean held-out AUROC of ``model`` over ``splits`` (0 without any); ``splits`` are
    (train, test) pairs of rows already standardised on their train rows."""
    scores = []
    for (train_X, train_y, train_w), (test_X, test_y) in splits:
        model.fit(train_X, train_y, sample_weight=train_w)
        scores.append(_rank_auroc(test_y, model.decision_function(test_X)))
    return float(np.mean(scores)) if scores else 0.0


def _rank_auroc(y: np.ndarray, score: np.ndarray) -> float:
    """AUROC of ``score`` for the binary ``y`` (both classes present) from its ranks (the
    Mann-Whitney statistic, ties counted half): scikit-learn's value without its checks, which
    cost more than the fits tried in the search for a strength."""
    y = np.asarray(y, bool)
    n_pos = int(y.sum())
    ranks = sstats.rankdata(score)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * (len(y) - n_pos)))


def _boosting(params: CalibrationParams) -> dict:
    return {
        "max_iter": params.max_iter,
        "learning_rate": params.learning_rate,
        "max_leaf_nodes": params.max_leaf_nodes,
        "min_samples_leaf": params.min_samples_leaf,
        "l2_regularization": params.l2_regularization,
        "early_stopping": False,
        "random_state": params.seed,
    }


def _proba(model, X) -> np.ndarray:
    return model.predict_proba(X)[:, 1] if len(X) else np.zeros(0)


class _Regions:
    """The region models: P(error) and P(the proposal helps) from a region's evidence."""

    def __init__(self, samples: list[Sample], params: CalibrationParams):
        X, err, helps = _region_arrays(samples)
        self.error = _classifier(X, err, None, params)
        self.helps = _classifier(X, helps, None, params)

    def __call__(self, X) -> tuple[np.ndarray, np.ndarray]:
        return _proba(self.error, X), _proba(self.helps, X)


class _Images:
    """The image models: P(the mask holds an error) and its estimated Dice, from image rows
    built with held-out region probabilities."""

    def __init__(self, Ximg, planted, dice, weights, groups, params: CalibrationParams):
        self.error = _linear(image_design(Ximg), planted, weights, groups, params)
        self.dice = _regressor(Ximg, dice, weights, params)

    def __call__(self, Ximg) -> tuple[np.ndarray, np.ndarray]:
        dice = np.clip(self.dice.predict(Ximg), 0.0, 1.0) if len(Ximg) else np.zeros(0)
        return _proba(self.error, image_design(Ximg)), dice


class _Stage:
    """A region model and the image model stacked on it."""

    def __init__(self, regions: _Regions, images: _Images):
        self.regions, self.images = regions, images

    def images_of(self, raws: list[dict], Xs: list[np.ndarray]) -> list[tuple]:
        """Region probabilities, image probability and estimated Dice of each image, with one
        prediction per model."""
        if not Xs:
            return []
        parts = _per_image(self.regions, Xs)
        rows = np.array([_image_row(r, X, *pp) for r, X, pp in zip(raws, Xs, parts, strict=True)])
        p_img, dice = self.images(rows)
        return [(*pp, float(pi), float(d)) for pp, pi, d in zip(parts, p_img, dice, strict=True)]


def _per_image(regions: _Regions, Xs: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """``regions`` applied to the region rows of many images in one prediction, split back
    into each image's ``(p_error, p_helps)``."""
    bounds = np.cumsum([0, *(len(X) for X in Xs)])
    p_err, p_help = regions(np.concatenate(Xs))
    return [(p_err[a:b], p_help[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _held_out(models: list, samples: list[Sample], fold: np.ndarray, predict) -> list:
    """``predict(models[k], samples of fold k)`` for every fold, in the samples' order: each
    sample judged by the model that did not see it, with one prediction per model."""
    out: list = [None] * len(samples)
    for k, model in enumerate(models):
        idx = np.flatnonzero(fold == k)
        if len(idx):
            for i, found in zip(idx, predict(model, [samples[i] for i in idx]), strict=True):
                out[i] = found
    return out


def _region_arrays(samples: list[Sample]):
    X = np.concatenate([s.X for s in samples]) if samples else np.zeros((0, len(REGION_FEATURES)))
    err = np.concatenate([s.is_error for s in samples]) if samples else np.zeros(0, bool)
    helps = np.concatenate([s.helps for s in samples]) if samples else np.zeros(0, bool)
    return X, err, helps


def _image_arrays(samples: list[Sample], region_probs: list, trust: np.ndarray):
    """Image rows of ``samples`` from their regions' (held-out) probabilities, the labels
    "planted", the true Dice and class-balancing weights of the samples' ``trust``."""
    rows = [_image_row(s.raw, s.X, *probs) for s, probs in zip(samples, region_probs, strict=True)]
    Ximg = np.array(rows, np.float32).reshape(-1, len(IMAGE_FEATURES))
    y = np.array([bool(s.planted) for s in samples])
    dice = np.array([s.true_dice for s in samples], np.float64)
    w = _balanced_weights(y, trust)
    groups = np.array([s.image for s in samples])
    return Ximg, y, dice, w, groups


def _balanced_weights(y: np.ndarray, base: np.ndarray | None = None) -> np.ndarray:
    """Sample weights proportional to ``base`` (default: all ones) within each class that
    give the planted (``y``) and the untouched samples equal total weight, as many as there
    are planted samples; all ones when either class is missing or weighs nothing."""
    base = np.ones(len(y)) if base is None else np.asarray(base, np.float64)
    pos, neg = float(base[y].sum()), float(base[~y].sum())
    if pos <= 0.0 or neg <= 0.0:
        return np.ones(len(y))
    return np.where(y, base / pos, base / neg) * int(y.sum())


def _trust(samples: list[Sample], fold: np.ndarray) -> np.ndarray:
    """How far each calibration sample can be believed as an example of its class, for the
    image models and the stack.

    The untouched masks are the project's least suspicious, not known to be right: in a noisy
    project some hold real errors, of the very kinds (outlines traced coarsely, jitter) that the
    image models then learn to call correct, so that they miss them everywhere else. The softmin
    (one minus cleanlab's image quality) is a reading of the same question that nothing here is
    fitted to, so it is not taught this. Its doubt is turned into the probability that a sample
    is a planted error (a logistic fit with a non-negative slope, classes weighted equally,
    cross-fitted over the calibration folds), and an untouched mask is believed as correct by
    one minus that: fully where the softmin finds it as sure as the clean ones, little where it
    looks like the planted errors. Where the softmin cannot tell planted from untouched, every
    untouched mask gets about the same weight, which after class balancing is no change.
    Planted errors and masks of the clean subset keep weight one.
    """
    planted = np.array([bool(s.planted) for s in samples])
    doubt = _logit(1.0 - np.array([s.raw["softmin"] for s in samples], np.float64))[:, None]
    trust = np.ones(len(samples))
    doubtful = ~planted & ~np.array([s.trusted for s in samples])
    for k in np.unique(fold):
        train, judged = fold != k, (fold == k) & doubtful
        if judged.any() and 0 < planted[train].sum() < train.sum():
            model = _Monotone(doubt[train], planted[train], _balanced_weights(planted[train]))
            trust[judged] = 1.0 - _proba(model, doubt[judged])
    return trust


def _image_row(raw: dict, X: np.ndarray, p_err, p_help) -> np.ndarray:
    whole = X[:, _COL["whole_mask"]] > 0 if len(X) else np.zeros(0, bool)
    weight = float(X[whole, _COL["doubt"]].max()) if whole.any() else 0.0
    change = X[:, _COL["dice_change"]] if len(X) else np.zeros(0)
    return image_features(raw, p_err, p_help, change, weight)


class Calibration:
    """The fitted calibration of one project: apply it to regions, images and error maps.

    Use :func:`fit_calibration`; :meth:`uncalibrated` is the fallback of a project too small to
    calibrate (uncalibrated evidence passes through).
    """

    def __init__(
        self,
        final=None,
        folds=None,
        fold_of=None,
        pixel=None,
        verdict=None,
        set_aside=None,
        stack=None,
    ):
        self.final, self.folds, self.fold_of = final, folds or [], fold_of or {}
        self.pixel, self.verdict = pixel, verdict or Verdict.uncalibrated("not fitted")
        #: The image score from the image models' outputs and the softmin (:func:`_fit_stack`).
        self.stack = stack
        #: Calibration images whose given mask the calibration judged wrong and left out.
        self.set_aside: list[str] = list(set_aside or [])

    @classmethod
    def uncalibrated(cls, note: str) -> Calibration:
        """Pass the uncalibrated evidence through, with a verdict saying why."""
        return cls(verdict=Verdict.uncalibrated(note))

    @property
    def fitted(self) -> bool:
        return self.final is not None

    @_one_thread
    def predict(self, images: dict[str, tuple[dict, np.ndarray]]) -> dict[str, tuple]:
        """Calibrated ``(p_error, p_helps, p_image, est_dice, image_score)`` of many images at once:
        ``images`` maps a name to its raw image features and the :func:`evidence` rows of its
        regions (small: a large project's regions need not be in memory to be predicted).

        The calibration images are judged by the fold models that did not see them.
        """
        out: dict[str, tuple] = {}
        groups: dict[int | None, list[str]] = {}
        for name in images:
            groups.setdefault(self.fold_of.get(name) if self.fitted else None, []).append(name)
        for fold, names in groups.items():
            raws = [images[n][0] for n in names]
            Xs = [images[n][1] for n in names]
            if not self.fitted:
                found = [_uncalibrated(raw, X) for raw, X in zip(raws, Xs, strict=True)]
            else:
                stage = self.final if fold is None else self.folds[fold]
                found = stage.images_of(raws, Xs)
            scores = self.image_score(
                [f[2] for f in found], [f[3] for f in found], [r["softmin"] for r in raws]
            )
            out.update(
                (n, (*f, float(score))) for n, f, score in zip(names, found, scores, strict=True)
            )
        return out

    def apply(self, regions: list[Region], maps: dict, prediction: tuple) -> dict:
        """Calibrate one image in place with its :meth:`predict` output: its regions
        (``score``, ``prob_correct``, ``gain``, ``dice_gain``, ``reason``) and
        ``maps["error_score"]``; returns ``{"error_score", "est_dice"}`` of the image."""
        p_err, p_help, p_img, est, score = prediction
        judged = [r for r in regions if r.features is not None]
        if self.fitted:
            maps["error_score"] = self._pixel_map(maps, judged, p_err, p_img)
        else:
            maps["error_score"] = maps["error_raw"]
        for reg, pe, ph in zip(judged, p_err, p_help, strict=True):
            _set(reg, float(pe), float(ph))
        return {"error_score": score, "est_dice": est}

    def image_score(self, p_img, est, softmin) -> np.ndarray:
        """The images' error score from the image models' outputs and cleanlab's softmin
        (arrays over images): their stack (:func:`_fit_stack`), or P(error) alone without one."""
        p_img = np.asarray(p_img, np.float64)
        if self.stack is None:
            return p_img
        return _proba(self.stack, _stack_rows(p_img, est, softmin))

    def _pixel_map(self, maps: dict, regions: list[Region], p_err, p_img: float) -> np.ndarray:
        shape = maps["pixel_error"].shape
        cover = np.zeros(shape, np.float32)
        for reg, p in zip(regions, p_err, strict=True):
            window = cover[reg.slices]
            window[reg.region] = np.maximum(window[reg.region], p)
        logits = np.stack([_logit(maps[k].ravel()) for k in ("pixel_error", "error_raw")], 1)
        X = pixel_rows(logits, cover.ravel(), np.full(cover.size, p_img, np.float32))
        return _proba(self.pixel, X).reshape(shape).astype(np.float32)


def evidence(regions: list[Region]) -> np.ndarray:
    """(n, F) evidence rows of the regions that have one (outliers have none)."""
    rows = [r.features for r in regions if r.features is not None]
    return np.array(rows, np.float32).reshape(-1, len(REGION_FEATURES))


def _uncalibrated(raw: dict, X: np.ndarray) -> tuple:
    """The uncalibrated evidence as the calibration's output: the model's doubt, its belief in
    the proposal times the image's evidence, the noisy-or image score and ``1 - expected loss``."""
    p_err = X[:, _COL["doubt"]]
    p_help = X[:, _COL["model_belief"]] * X[:, _COL["image_evidence"]]
    loss = _image_row(raw, X, p_err, p_help)[IMAGE_FEATURES.index("expected_loss")]
    return p_err, p_help, float(raw["noisy_or"]), 1.0 - float(loss)


def _set(reg: Region, p_err: float, p_help: float) -> None:
    reg.judge(p_err, p_help, reg.features[_COL["dice_change"]])
    reg.reason = region_reason(reg)


def pixel_rows(logits: np.ndarray, cover: np.ndarray, p_img: np.ndarray) -> np.ndarray:
    """Rows of the pixel model: the logits of the pixel's doubt and of the uncalibrated map
    (``logits``, m x 2), the calibrated probability of the regions covering it, the image's
    logit and one interaction (doubt within a doubtful image)."""
    p_img = np.asarray(p_img, np.float32)
    columns = [logits[:, 0], logits[:, 1], cover, _logit(p_img), logits[:, 0] * p_img]
    return np.stack(columns, 1).astype(np.float32)


@_one_thread
def fit_calibration(
    samples: list[Sample], params: CalibrationParams = PARAMS.calibration
) -> Calibration:
    """Fit the three stages on ``samples``, cross-fitted over their groups, and judge them.

    The region models of each fold give held-out region probabilities for the other fold's
    samples; the image models are fitted on image rows built from those, and the pixel model on
    the held-out outputs of both. With ``params.trust``, the image models and the stack weigh
    each untouched mask by how far the softmin believes it (:func:`_trust`). Returns the
    uncalibrated pass-through when there are too few calibration images or no planted error.

    With ``params.screen``, the calibration then judges its own untouched masks: a calibration
    image whose mask the held-out image model finds more likely wrong than right is set aside
    (:attr:`Calibration.set_aside`, judged by the final models like any other image) and the
    image models are fitted again without its samples, unless that leaves fewer than
    ``params.min_images``. Masks of the clean subset are never set aside. The region and pixel
    models and the verdict are the first fit's.
    """
    images = sorted({s.image for s in samples})
    if len(images) < params.min_images or not any(s.planted for s in samples):
        note = f"{len(images)} calibration images, {params.min_images} needed"
        return Calibration.uncalibrated(note)
    fold_of = calibration_folds(samples, params)
    fold = np.array([fold_of[s.image] for s in samples])
    region_folds, region_probs = _fit_regions(samples, fold, params)
    final_regions = _Regions(samples, params)
    trust = _trust(samples, fold) if params.trust else np.ones(len(samples))
    image_folds, final_images = _fit_images(samples, region_probs, fold, trust, params)
    folds = [_Stage(region_folds[k], image_folds[k]) for k in range(params.folds)]
    held = _held_out(folds, samples, fold, _stage_images)
    pixel = _fit_pixels(samples, held)
    verdict = _verdict(samples, held)
    doubted = _doubted(samples, held) if params.screen else set()
    if len(images) - len(doubted) < params.min_images:
        doubted = set()
    if doubted:
        # The verdict stays the first fit's: judged again without the masks it doubted, the
        # calibration would grade itself on the examples it finds easy.
        keep = np.array([s.image not in doubted for s in samples])
        kept = [s for s, k in zip(samples, keep, strict=True) if k]
        probs = [p for p, k in zip(region_probs, keep, strict=True) if k]
        image_folds, final_images = _fit_images(kept, probs, fold[keep], trust[keep], params)
        folds = [_Stage(region_folds[k], image_folds[k]) for k in range(params.folds)]
        fold_of = {n: f for n, f in fold_of.items() if n not in doubted}
        verdict.n_set_aside = len(doubted)
    final = _Stage(final_regions, final_images)
    stack = _fit_stack(samples, held, trust)
    return Calibration(final, folds, fold_of, pixel, verdict, sorted(doubted), stack)


def calibration_folds(samples: list[Sample], params: CalibrationParams) -> dict[str, int]:
    """The cross-fitting fold of each calibration image: its group's (its patient's) place among
    the sorted groups, modulo ``params.folds``."""
    groups = sorted({s.group for s in samples})
    fold_of_group = {g: i % params.folds for i, g in enumerate(groups)}
    return {s.image: fold_of_group[s.group] for s in samples}


def _stack_rows(p_img, est, softmin) -> np.ndarray:
    """Stacking rows: the logits of P(error), of the estimated Dice's shortfall and of the
    softmin's doubt (one minus cleanlab's image quality)."""
    p_img, est, softmin = (np.asarray(a, np.float64) for a in (p_img, est, softmin))
    return np.stack([_logit(p_img), _logit(1.0 - est), _logit(1.0 - softmin)], 1)


def _fit_stack(samples: list[Sample], held: list, trust: np.ndarray):
    """The image score from the two image models and the softmin: a logistic fit with
    non-negative weights (:class:`_Monotone`), on every calibration sample's held-out P(error)
    and estimated Dice and its softmin, of whether an error was planted (classes weighted
    equally, samples by their :func:`_trust`). The softmin is also one of the P(error) model's
    features; alone beside the two models' outputs it gets the weight the project's planted
    errors give it, or none. ``None`` when one class is missing: the image score is then
    P(error) alone."""
    y = np.array([bool(s.planted) for s in samples])
    if y.all() or not y.any():
        return None
    X = _stack_rows([h[2] for h in held], [h[3] for h in held], [s.raw["softmin"] for s in samples])
    return _Monotone(X, y, _balanced_weights(y, trust))


def _fit_images(samples: list[Sample], region_probs: list, fold: np.ndarray, trust, params):
    """The image models of each fold (fitted on the other folds' rows) and the final one, on
    image rows built from held-out region probabilities, each sample weighted by its
    ``trust``."""
    arrays = _image_arrays(samples, region_probs, trust)
    folds = [_Images(*(a[fold != k] for a in arrays), params) for k in range(params.folds)]
    return folds, _Images(*arrays, params)


def _doubted(samples: list[Sample], held: list) -> set[str]:
    """Calibration images whose untouched mask the held-out image model gives a probability of
    holding an error above one half. The image model is fitted with both classes weighted
    equally, so above one half the mask looks more like the planted errors than like the other
    untouched masks: it is likely one of the project's real errors, and as an example of a
    correct mask it would teach the calibration that such errors look right."""
    return {
        s.image
        for s, h in zip(samples, held, strict=True)
        if not s.planted and not s.trusted and h[2] > 0.5
    }


def _fit_regions(samples: list[Sample], fold: np.ndarray, params: CalibrationParams):
    """One region model per fold, fitted on the other folds; returns them and each sample's
    held-out region probabilities."""
    models = []
    for k in range(params.folds):
        models.append(_Regions([s for s, f in zip(samples, fold, strict=True) if f != k], params))
    return models, _held_out(models, samples, fold, lambda m, ss: _per_image(m, [s.X for s in ss]))


def _stage_images(stage: _Stage, samples: list[Sample]) -> list[tuple]:
    return stage.images_of([s.raw for s in samples], [s.X for s in samples])


def _fit_pixels(samples: list[Sample], held: list):
    """The pixel model on every sampled pixel, with the held-out region and image outputs."""
    rows, ys, ws = [], [], []
    for s, (p_err, _, p_img, _) in zip(samples, held, strict=True):
        cover = np.zeros(len(s.pix_y), np.float32)
        for idx, p in zip(s.cover, p_err, strict=True):
            cover[idx] = np.maximum(cover[idx], p)
        rows.append(pixel_rows(s.pix_X, cover, np.full(len(cover), p_img, np.float32)))
        ys.append(s.pix_y)
        ws.append(s.pix_w)
    X, y, w = np.concatenate(rows), np.concatenate(ys), np.concatenate(ws)
    if y.all() or not y.any():
        return _Constant(float(y.mean()) if len(y) else 0.0)
    return LogisticRegression(C=1.0, max_iter=500).fit(X, y, sample_weight=w / w.mean())


def _verdict(samples: list[Sample], held: list) -> Verdict:
    planted = np.array([bool(s.planted) for s in samples])
    p_img = np.array([h[2] for h in held])
    est = np.array([h[3] for h in held])
    true = np.array([s.true_dice for s in samples])
    err = np.concatenate([s.is_error for s in samples])
    p_reg = np.concatenate([h[0] for h in held])
    model_dice = float(np.median([s.raw["model_dice"] for s in samples if not s.planted]))
    small = ~planted | (1.0 - true <= 1.0 - model_dice)
    return Verdict.judge(
        image_auroc=_auroc(planted, p_img),
        region_auroc=_auroc(err, p_reg),
        small_auroc=_auroc(planted[small], p_img[small])
        if (planted & small).sum() >= 3
        else math.nan,
        dice_r=_pearson(est, true),
        model_dice=model_dice,
        n_images=len({s.image for s in samples}),
        n_planted=int(planted.sum()),
        n_regions=len(err),
    )


def _auroc(y, score) -> float:
    y = np.asarray(y, bool)
    return _rank_auroc(y, score) if 0 < y.sum() < len(y) else math.nan


def _pearson(a, b) -> float:
    return (
        float(sstats.pearsonr(a, b)[0])
        if len(a) > 2 and np.ptp(a) > 0 and np.ptp(b) > 0
        else math.nan
    )
