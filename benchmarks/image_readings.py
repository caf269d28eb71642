"""Each reading of the image score on planted errors and on the project's own errors, by type.

The image score stacks three readings of "is this mask wrong?": the image model's P(error), the
estimated Dice's shortfall and cleanlab's softmin (:mod:`napari_noisyfix.quality.calibration`).
The stack's weights come from errors planted in the calibration images. This prints, for one
planting seed, each reading's AUROC against the untouched calibration masks per planted type
(held out: every calibration image judged by the fold models that did not see it) and against the
project's correct masks per type of the run's real errors (from the truth), so that one can see
where the planted errors teach the stack a ranking the project's errors do not follow:

    python benchmarks/image_readings.py RUN/project --noise-log RUN/noise_log.json --seed 0

``RUN`` is a run of ``noisyfix benchmark`` (or ``benchmarks/rescore.py``, whose folder has no
noise log: give the source run's).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
from calibration_pool import load_scored
from sklearn.metrics import roc_auc_score

from napari_noisyfix.progress import drive
from napari_noisyfix.quality import calibration as C
from napari_noisyfix.quality import score as S
from napari_noisyfix.quality.params import PARAMS

READINGS = ("stack", "P(error)", "1 - est. Dice", "1 - softmin")


def _row(label: str, positive: np.ndarray, negative: np.ndarray, readings) -> str:
    y = np.r_[np.ones(positive.sum()), np.zeros(negative.sum())]
    cells = [roc_auc_score(y, np.r_[r[positive], r[negative]]) for r in readings]
    return f"| {label} | {positive.sum()} | " + " | ".join(f"{c:.3f}" for c in cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", help="a scored benchmark project (with truth)")
    parser.add_argument("--noise-log", required=True, help="the run's noise_log.json")
    parser.add_argument("--seed", type=int, default=PARAMS.calibration.seed, help="planting seed")
    args = parser.parse_args()
    project, version, raw, calibration, real, wrong, _ = load_scored(args.project)
    params = dataclasses.replace(PARAMS.calibration, seed=args.seed)
    base = S.calibration_images(project, raw, params)
    samples = drive(S.calibration_samples(project, version, calibration, base, params), quiet=True)
    fitted = C.fit_calibration(samples, params)
    fold_of = C.calibration_folds(samples, params)
    fold = np.array([fold_of[s.image] for s in samples])
    held = C._held_out(fitted.folds, samples, fold, C._stage_images)
    p_err = np.array([h[2] for h in held])
    est = np.array([h[3] for h in held])
    softmin = np.array([s.raw["softmin"] for s in samples])
    planted = [fitted.image_score(p_err, est, softmin), p_err, 1 - est, 1 - softmin]
    kinds = np.array([s.planted for s in samples])
    print(f"planting seed {args.seed}; " + ", ".join(READINGS) + ": image AUROC")
    print("| planted type (calibration, held out) | n | " + " | ".join(READINGS) + " |")
    print("|---" * (len(READINGS) + 2) + "|")
    for kind in [*sorted(set(kinds) - {""}), "all"]:
        pos = kinds != "" if kind == "all" else kinds == kind
        print(_row(kind, pos, kinds == "", planted))
    names = [n for n, *_ in real]
    found = fitted.predict({n: (r, X) for n, X, r, *_ in real})
    score = np.array([found[n][4] for n in names])
    p_img = np.array([found[n][2] for n in names])
    est_img = np.array([found[n][3] for n in names])
    soft = np.array([raw[n]["softmin"] for n in names])
    readings = [score, p_img, 1 - est_img, 1 - soft]
    log = json.loads(Path(args.noise_log).read_text())
    kind_of = {e["name"]: e["type"] for e in log if e.get("corrupted")}
    types = np.array([kind_of.get(n, "") if w else "" for n, w in zip(names, wrong, strict=True)])
    print("| real type (project, against the truth) | n | " + " | ".join(READINGS) + " |")
    print("|---" * (len(READINGS) + 2) + "|")
    for kind in [*sorted(set(types) - {""}), "all"]:
        pos = wrong if kind == "all" else types == kind
        print(_row(kind, pos, ~wrong, readings))


if __name__ == "__main__":
    main()
