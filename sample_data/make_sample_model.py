"""Train the model the package ships for the demo's sample project, and write it in the package.

Run from the repository root (a few minutes on two CPU cores):

    OMP_NUM_THREADS=1 .venv/bin/python sample_data/make_sample_model.py

It makes the sample project of ``noisyfix demo`` (napari_noisyfix.model.sample_model.DEMO_SAMPLE)
in a temporary folder, trains it out-of-fold with ``noisyfix train``'s code (2 patient-level
folds and a final model, the light encoder, the robust recipe), and writes to
napari_noisyfix/data/sample_model/: ``final/`` and ``folds/<k>/`` (checkpoints, weights in
float16) and ``manifest.json`` (the images' digest, each fold's held-out images, the settings,
the versions of torch/smp/timm, and the out-of-fold Dice measured against the sample's true
masks and the noisy masks' Dice, for the README).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from napari_noisyfix._atomic import read_json, write_json
from napari_noisyfix.evaluate import dice
from napari_noisyfix.model.checkpoints import load_checkpoint, save_checkpoint
from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.folds import fold_root
from napari_noisyfix.model.oof import train_out_of_fold
from napari_noisyfix.model.sample_model import (
    DEMO_SAMPLE,
    FINAL,
    MANIFEST,
    SAMPLE_MODEL,
    images_digest,
)
from napari_noisyfix.progress import drive
from napari_noisyfix.synth.sample import make_sample_project


def _half(path: Path, out: Path) -> None:
    """Copy a checkpoint with its floating-point weights in float16."""
    ckpt = load_checkpoint(path)
    state = {k: v.half() if v.is_floating_point() else v for k, v in ckpt.state.items()}
    save_checkpoint(
        out, state, ckpt.config, ckpt.in_channels, ckpt.n_classes, ckpt.history, ckpt.meta
    )


def _oof_dice(project, version: int) -> dict:
    """Mean foreground Dice of the out-of-fold predictions and of the noisy masks, vs truth."""
    pred, noisy = [], []
    for name in project.names:
        truth = project.truth(name)
        pred.append(dice(project.load_probs(name, version).argmax(0), truth))
        noisy.append(dice(project.mask(name), truth))
    return {"oof_prediction": float(np.mean(pred)), "noisy_masks": float(np.mean(noisy))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SAMPLE_MODEL)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--lr", type=float, default=5e-3)
    args = parser.parse_args(argv)
    import segmentation_models_pytorch as smp
    import timm
    import torch

    config = TrainConfig.robust(
        encoder="mobilenetv3_small",
        epochs=args.epochs,
        steps_per_epoch=args.steps,
        lr=args.lr,
        patience=args.epochs,  # every epoch runs; the best by validation Dice is kept
        image_size=128,
        device="cpu",
        seed=DEMO_SAMPLE["seed"],
    )
    with tempfile.TemporaryDirectory() as tmp:
        project = make_sample_project(Path(tmp) / "sample", **DEMO_SAMPLE)
        version = drive(train_out_of_fold(project, config, folds=2))
        model = project.model_dir(version)
        oof = read_json(project.scores_dir(version) / "oof.json")
        final_row = project.log.rows("train")[-1]
        shutil.rmtree(args.out, ignore_errors=True)
        args.out.mkdir(parents=True)
        _half(model, args.out / FINAL)
        for path in sorted(fold_root(model).iterdir()):
            _half(path, fold_root(args.out) / path.name)
        best = {str(s["fold"]): s["best_epoch"] for s in oof["folds"]}
        best[FINAL] = final_row["details"]["best_epoch"]
        manifest = {
            "sample": DEMO_SAMPLE,
            "images_sha256": images_digest(project),
            "folds": {str(s["fold"]): s["held_out"] for s in oof["folds"]},
            "best_epochs": best,
            "train": config.to_dict(),
            "dice_vs_truth": _oof_dice(project, version),
            "made": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "made_with": {
                "torch": torch.__version__,
                "segmentation_models_pytorch": smp.__version__,
                "timm": timm.__version__,
            },
            "command": "python sample_data/make_sample_model.py " + " ".join(argv or sys.argv[1:]),
        }
        write_json(args.out / MANIFEST, manifest)
        project.close()
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"sample model written to {args.out} ({size / 1e6:.1f} MB): {manifest['dice_vs_truth']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
