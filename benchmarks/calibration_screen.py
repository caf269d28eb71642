"""The calibration's screening of its own untouched masks, on and off, over planting seeds.

Runs on a project scored by ``noisyfix benchmark`` or ``benchmarks/rescore.py`` (its ``project/``
folder, which holds the truth). For each seed the calibration images receive planted errors
again, and the calibration is fitted with ``screen`` off and on
(:func:`~napari_noisyfix.quality.calibration.fit_calibration`); prints the image AUROC and the
Pearson r of the estimated Dice against the truth, as measure 1 computes them, and how many
calibration images were set aside and how many of those truly hold an error. The image AUROC is
given twice: of the image score the tool stores (the stack of both image models and the softmin)
and of the planted-error classifier's P(error) alone:

    python benchmarks/calibration_screen.py /tmp/rescored/fluo/project --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
from calibration_pool import load_scored
from sklearn.metrics import roc_auc_score

from napari_noisyfix.progress import drive
from napari_noisyfix.quality import score as S
from napari_noisyfix.quality.calibration import fit_calibration
from napari_noisyfix.quality.params import PARAMS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", help="a scored benchmark project (with truth)")
    parser.add_argument("--seeds", default="0,1,2", help="planting seeds, comma-separated")
    args = parser.parse_args()
    project, version, raw, calibration, real, wrong, true_dice = load_scored(args.project)
    is_wrong = {n: bool(w) for (n, *_), w in zip(real, wrong, strict=True)}
    rows = {n: (r, X) for n, X, r, *_ in real}
    for seed in (int(s) for s in args.seeds.split(",")):
        params = dataclasses.replace(PARAMS.calibration, seed=seed)
        base = S.calibration_images(project, raw, params)
        samples = drive(
            S.calibration_samples(project, version, calibration, base, params), quiet=True
        )
        for screen in (False, True):
            fitted = fit_calibration(samples, dataclasses.replace(params, screen=screen))
            pred = fitted.predict(rows)
            p_img = np.array([pred[n][2] for n, *_ in real])
            est = np.array([pred[n][3] for n, *_ in real])
            aside = fitted.set_aside
            score = np.array([pred[n][4] for n, *_ in real])
            print(
                f"seed {seed} screen {'on ' if screen else 'off'} image AUROC "
                f"{roc_auc_score(wrong, score):.3f} (P(error) alone {roc_auc_score(wrong, p_img):.3f}) "
                f"Dice r {np.corrcoef(est, true_dice)[0, 1]:.3f} "
                f"calibration images {len(base)} (with a real error "
                f"{sum(is_wrong[n] for n in base)}), set aside {len(aside)} "
                f"(with a real error {sum(is_wrong[n] for n in aside)})",
                flush=True,
            )


if __name__ == "__main__":
    main()
