"""Merge and split errors planted in real instance masks, through the whole loop: import as an
instance project, train out-of-fold (CPU-sized), score with the per-project calibration, and
read the queue.

    python benchmarks/instance_queue.py /work/shared/data/dsb2018_nuclei_fluo --n 24 --out /tmp/iq

Half the masks get one noise draw of ``merge`` or ``split`` (:func:`corrupt_dataset` with
``instances=True``; one to three pairs or objects each). Reported: planted objects with a region
of the right kind covering them (recall), AP of the ``merged`` / ``split`` regions ranked by their
calibrated error probability, those flagged on untouched masks, and the calibration's verdict.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.metrics import average_precision_score

from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.oof import train_out_of_fold
from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project
from napari_noisyfix.quality.score import load_regions, load_verdict, score_project
from napari_noisyfix.synth.noise import corrupt_dataset

KIND = {"merge": "merged", "split": "split"}


def _planted_areas(truth, noisy, row) -> list[np.ndarray]:
    """The pixels of each planted pair (merge) or cut object (split)."""
    groups = row["params"].get("pairs") or row["params"].get("objects") or []
    return [np.isin(truth, g) | np.isin(noisy, g) for g in groups]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=15)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--resume", action="store_true", help="reuse OUT/project if trained")
    args = parser.parse_args()
    files = sorted((args.data / "masks_instance").glob("*.png"))[: args.n]
    truths = {f.stem: np.array(Image.open(f)).astype(np.uint16) for f in files}
    images = {f.stem: np.array(Image.open(args.data / "images" / f.name)) for f in files}
    noisy, log = corrupt_dataset(truths, 0.5, seed=0, kinds="instance", instances=True)
    root = args.out / "project"
    if args.resume and (root / "project.json").is_file():  # trained already (same seed, data)
        project = Project.open(root)
    else:
        project = Project.create(root, images, noisy, truth=truths, labels="instance", force=True)
    if project.latest_model_version() is None:
        config = TrainConfig.robust(epochs=args.epochs, steps_per_epoch=args.steps, image_size=128)
        drive(train_out_of_fold(project, config, folds=2), quiet=True)
    print(drive(score_project(project), quiet=True))
    regions = [r for r in load_regions(project) if r.kind in ("merged", "split")]
    planted = {row["name"]: row for row in log if row["corrupted"]}
    hits, scores, labels, total = 0, [], [], 0
    for name, row in planted.items():
        for area in _planted_areas(truths[name], noisy[name], row):
            total += 1
            hits += any(
                r.image == name
                and r.kind == KIND[row["type"]]
                and (r.full_region(area.shape) & area).sum() >= 0.5 * area.sum()
                for r in regions
            )
    for r in regions:
        row = planted.get(r.image)
        areas = _planted_areas(truths[r.image], noisy[r.image], row) if row else []
        full = r.full_region(truths[r.image].shape)
        good = row is not None and r.kind == KIND[row["type"]]
        labels.append(good and any((full & a).sum() >= 0.5 * a.sum() for a in areas))
        scores.append(r.score)
    ap = average_precision_score(labels, scores) * hits / total if hits and any(labels) else 0.0
    result = {
        "images": len(files),
        "planted_objects": total,
        "recall": hits / total if total else 0.0,
        "ap_calibrated": float(ap),
        "flags_on_untouched_masks": sum(r.image not in planted for r in regions),
        "verdict": load_verdict(project).to_dict(),
    }
    (args.out / "results.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
