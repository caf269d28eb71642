"""How the choice of calibration images and the weighting of planted errors move the image score.

Runs on a project scored by ``noisyfix benchmark`` or ``benchmarks/rescore.py`` (its ``project/``
folder, which holds the truth): the calibration samples are planted again for each pool, the
region models refitted, and the image models fitted with each weighting. Prints the image AUROC
and the Pearson r of the estimated Dice against the truth, as measure 1 computes them:

    python benchmarks/calibration_pool.py /tmp/rescored/fluo/project \
        --pools shipped,no_real_errors,all_views --weights none,kinds,domain

Pools: ``shipped`` (:func:`~napari_noisyfix.quality.score.calibration_images`),
``no_real_errors`` (the same without the images whose masks differ from the truth: a bound that
uses the truth, not a method), ``all_views`` (the least suspicious under each of the region
evidence, the softmin and the outline doubt). Weights: ``none``, ``kinds`` (planted kinds
reweighted to the mixture a classifier of kinds estimates on the project), ``domain`` (planted
samples weighted by a project-against-calibration classifier's odds).
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from napari_noisyfix.evaluate import dice
from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project
from napari_noisyfix.quality import calibration as C
from napari_noisyfix.quality import score as S
from napari_noisyfix.quality.features import REGION_FEATURES, image_design
from napari_noisyfix.quality.params import PARAMS
from napari_noisyfix.quality.storage import read_npz, regions_from_arrays

VIEWS = (("noisy_or", 1.0), ("softmin", -1.0), ("outline_doubt", 1.0))


def pool(project, raw: dict, kind: str, params) -> list[str]:
    if kind == "all_views":
        names = list(raw)
        worst = np.zeros(len(names))
        for key, sign in VIEWS:
            v = sign * np.array([raw[n][key] for n in names])
            worst = np.maximum(worst, np.argsort(np.argsort(v)) / max(len(v) - 1, 1))
        raw = {n: {**raw[n], "noisy_or": float(w)} for n, w in zip(names, worst, strict=True)}
    base = S.calibration_images(project, raw, params)
    if kind == "no_real_errors":
        base = [n for n in base if np.array_equal(project.mask(n), project.truth(n))]
    return base


def weights_of(kind: str, Ximg, planted_kind, w0, rows, p0) -> np.ndarray:
    if kind == "none":
        return w0
    design, proj = image_design(Ximg), image_design(rows)
    if kind == "kinds":
        pl = planted_kind != ""
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=3000))
        clf.fit(design[pl], planted_kind[pl])
        pi = (p0[:, None] * clf.predict_proba(proj)).sum(0) / p0.sum()
        shares = [np.mean(planted_kind[pl] == c) for c in clf.classes_]
        ratio = dict(zip(clf.classes_, pi / np.array(shares), strict=True))
        return w0 * np.array([ratio.get(k, 1.0) for k in planted_kind])
    y = np.r_[np.zeros(len(design)), np.ones(len(proj))]
    dom = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=3000))
    odds = dom.fit(np.concatenate([design, proj]), y).predict_proba(design)[:, 1]
    odds = odds / (1 - odds)
    return w0 * np.clip(odds / odds.mean(), 0.1, 10.0)


def load_scored(path: str):
    """A scored benchmark project's version, raw image features, class thresholds and shift,
    and per image ``(name, evidence rows, raw features, given mask, truth)``, with whether each
    mask is wrong and its true Dice."""
    project = Project.open(path, mode="read")
    version = project.latest_model_version()
    sdir = project.scores_dir(version)
    manifest = json.loads((sdir / "quality_manifest.json").read_text())
    raw = {n: manifest["images"][n]["raw"] for n in project.names}
    thr, shift = np.array(manifest["thresholds"], np.float32), manifest["fg_shift"]
    real = []
    for n in project.names:
        regs = regions_from_arrays(read_npz(sdir / "regions" / f"{n}.npz"), n)
        X = np.array([r.features for r in regs if r.features is not None], np.float32)
        truth = project.truth(n)
        real.append((n, X.reshape(-1, len(REGION_FEATURES)), raw[n], project.mask(n), truth))
    wrong = np.array([not np.array_equal(m, t) for *_, m, t in real])
    true_dice = np.array([dice(m > 0, t > 0, cls=True) for *_, m, t in real])
    return project, version, raw, (thr, shift), real, wrong, true_dice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", help="a scored benchmark project (with truth)")
    parser.add_argument("--pools", default="shipped,no_real_errors,all_views")
    parser.add_argument("--weights", default="none,kinds,domain")
    parser.add_argument(
        "--max-images", type=int, help="calibration images (default: the shipped parameter)"
    )
    args = parser.parse_args()
    project, version, raw, (thr, shift), real, wrong, true_dice = load_scored(args.project)
    params = PARAMS.calibration
    if args.max_images:
        params = dataclasses.replace(params, max_images=args.max_images)
    for pool_kind in args.pools.split(","):
        base = pool(project, raw, pool_kind, params)
        samples = drive(
            S.calibration_samples(project, version, (thr, shift), base, params), quiet=True
        )
        fold_of = C.calibration_folds(samples, params)
        fold = np.array([fold_of[s.image] for s in samples])
        region_folds, held = C._fit_regions(samples, fold, params)
        final_regions = C._Regions(samples, params)
        Ximg, y, dice_, w0, grp = C._image_arrays(samples, held, np.ones(len(samples)))
        kinds = np.array([s.planted for s in samples])
        rows = np.array(
            [
                C._image_row(
                    r, X, *(region_folds[fold_of[n]] if n in fold_of else final_regions)(X)
                )
                for n, X, r, *_ in real
            ],
            np.float32,
        )
        p0 = None
        for weight_kind in args.weights.split(","):
            w = weights_of(weight_kind, Ximg, kinds, w0, rows, p0) if p0 is not None else w0
            arrays = (Ximg, y, dice_, w, grp)
            folds = [
                C._Images(*(a[fold != k] for a in arrays), params) for k in range(params.folds)
            ]
            final = C._Images(*arrays, params)
            pred = [
                (folds[fold_of[n]] if n in fold_of else final)(row[None])
                for (n, *_), row in zip(real, rows, strict=True)
            ]
            p_img = np.array([p[0][0] for p in pred])
            est = np.array([p[1][0] for p in pred])
            p0 = p_img if p0 is None else p0
            contaminated = sum(n in base and bad for (n, *_), bad in zip(real, wrong, strict=True))
            print(
                f"pool {pool_kind:15s} weights {weight_kind:7s} images {len(base):3d} "
                f"(with a real error {contaminated:2d}) image AUROC {roc_auc_score(wrong, p_img):.3f} "
                f"Dice r {np.corrcoef(est, true_dice)[0, 1]:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
