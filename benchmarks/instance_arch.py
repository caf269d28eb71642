"""U-Net against Mask R-CNN on an instance project with planted merge and split errors.

The first N images of DATA (``images/`` and ``masks_instance/``, sorted), cropped to their top
left SIZE pixels; every other image gets one planted error, merge and split alternating
(:mod:`napari_noisyfix.synth.instance_noise`, as in ``instance_finder.py``). For each network
the same instance project is trained out of fold (one patient per image) and scored. Reported
per network: training and scoring seconds; the union Dice of the out-of-fold foreground
(probability > 0.5) against the true union; object F1 at IoU 0.5 of the connected pieces of that
foreground against the true objects (how well the maps part touching nuclei); and, over the
scored queue's ``merged`` / ``split`` regions, recall of the planted errors and their AP by
region score (times recall, as ``instance_finder.py`` reports it).

    python benchmarks/instance_arch.py /work/shared/data/dsb2018_nuclei_fluo --n 16 --out /tmp/ia
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from instance_finder import KIND, _planted
from PIL import Image
from scipy import ndimage as ndi
from sklearn.metrics import average_precision_score

from napari_noisyfix.benchmark.instance_measure import covers
from napari_noisyfix.benchmark.instance_metrics import object_f1
from napari_noisyfix.model import TrainConfig
from napari_noisyfix.model.oof import train_out_of_fold
from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project
from napari_noisyfix.quality.score import load_regions, score_project


def _load(data: Path, n: int, size: int, seed: int):
    """Images, given ids, true ids and the planted (kind, pixels) per image name."""
    images, given, truth, planted = {}, {}, {}, {}
    for i, path in enumerate(sorted((data / "masks_instance").glob("*.png"))[:n]):
        ids = np.array(Image.open(path)).astype(np.uint16)[:size, :size]
        image = np.array(Image.open(data / "images" / path.name))[:size, :size]
        name = path.stem
        images[name], truth[name], given[name] = image, ids, ids
        if i % 2 == 0:
            kind = ("merge", "split")[(i // 2) % 2]
            out, area = _planted(ids, kind, seed + i)
            if out is not None:
                given[name], planted[name] = out, (kind, area)
    return images, given, truth, planted


def _measure(project, truth: dict, planted: dict) -> dict:
    dice, f1 = [], []
    for name in project.names:
        fg = project.load_probs(name, 1)[1].astype(np.float32) > 0.5
        union = truth[name] > 0
        total = fg.sum() + union.sum()
        dice.append(1.0 if total == 0 else 2.0 * (fg & union).sum() / total)
        f1.append(object_f1(ndi.label(fg)[0], truth[name].astype(np.int64)))
    scores, labels, found = [], [], set()
    for reg in load_regions(project):
        if reg.kind not in KIND.values():
            continue
        kind, area = planted.get(reg.image, (None, None))
        hit = kind is not None and reg.image not in found and reg.kind == KIND[kind]
        hit = hit and covers(reg, area)
        found |= {reg.image} if hit else set()
        scores.append(reg.score)
        labels.append(hit)
    recall = len(found) / max(len(planted), 1)
    ap = float(average_precision_score(labels, scores)) * recall if found else 0.0
    return {
        "union_dice": float(np.mean(dice)),
        "object_f1": float(np.mean(f1)),
        "merge_split_regions": len(scores),
        "merge_split_recall": recall,
        "merge_split_ap": ap,
    }


def run(args) -> dict:
    images, given, truth, planted = _load(args.data, args.n, args.size, args.seed)
    out = {"images": len(images), "planted": len(planted), "size": args.size}
    for arch in args.archs:
        root = args.out / arch
        patients = {n: n for n in images}
        Project.create(
            root, images, given, truth=truth, patients=patients, labels="instance"
        ).close()
        config = TrainConfig(
            arch=arch, encoder=args.encoder, epochs=args.epochs, steps_per_epoch=args.steps,
            batch_size=args.batch, image_size=args.size, device=args.device, seed=args.seed,
            val_fraction=0.0,
        )  # fmt: skip
        with Project.open(root) as project:
            start = time.perf_counter()
            drive(train_out_of_fold(project, config, folds=args.folds), quiet=True)
            trained = time.perf_counter()
            drive(score_project(project), quiet=True)
            scored = time.perf_counter()
            out[arch] = {
                **_measure(project, truth, planted),
                "train_s": round(trained - start, 1),
                "score_s": round(scored - trained, 1),
                "strategy": config.strategy if arch != "maskrcnn" else "plain",
            }
        print(json.dumps({arch: out[arch]}), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="folder holding images/ and masks_instance/")
    parser.add_argument("--out", type=Path, required=True, help="new folder for the projects")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--archs", nargs="+", default=["unet", "maskrcnn"])
    parser.add_argument("--encoder", default="resnet18")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
