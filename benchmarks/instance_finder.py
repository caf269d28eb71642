"""The merge / split finder on real instance masks, before any model: planted errors found and
fixed from shape evidence alone.

For each of the first N images of DATA/masks_instance (sorted), one error is planted (merge or
split, alternating; :mod:`napari_noisyfix.synth.instance_noise`, one pair or one object). The
finder (:func:`napari_noisyfix.quality.instances.instance_regions`) runs on the planted copy and
on the untouched mask, with the probabilities a perfect semantic model would give (the true
union, blurred): what it sees of objects is their shape, since a union-trained model draws
touching nuclei as one blob. Reported: recall of planted errors (a region of the right kind
covering the planted objects), AP over all regions ranked by their uncalibrated score, flags
per untouched mask (the truth's own merges and splits, or false alarms), and the share of
found errors whose proposal, accepted, restores the true objects.

    python benchmarks/instance_finder.py /work/shared/data/dsb2018_nuclei_fluo --n 100
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image
from sklearn.metrics import average_precision_score

from napari_noisyfix.benchmark.instance_measure import covers
from napari_noisyfix.instance_labels import apply_region, misassigned
from napari_noisyfix.quality.instances import instance_regions
from napari_noisyfix.quality.synthetic import probs_from_mask
from napari_noisyfix.synth.instance_noise import merge, split

KIND = {"merge": "merged", "split": "split"}


def _planted(ids: np.ndarray, kind: str, seed: int):
    """The planted copy and the pixels of the objects it changed (None: nothing applies)."""
    out, params = (merge if kind == "merge" else split)(ids, np.random.default_rng(seed), 1)
    touched = params.get("pairs") or params.get("objects")
    if not touched:
        return None, None
    return out, np.isin(ids, touched[0]) | np.isin(out, touched[0])


def run(data: Path, n: int) -> dict:
    files = sorted((data / "masks_instance").glob("*.png"))[:n]
    scores, labels, found, fixed, planted, clean_flags = [], [], 0, 0, 0, 0
    by_kind = {k: [0, 0] for k in KIND}
    for i, path in enumerate(files):
        truth = np.array(Image.open(path)).astype(np.uint16)
        probs = probs_from_mask((truth > 0).astype(np.uint8), seed=i)
        kind = ("merge", "split")[i % 2]
        given, area = _planted(truth, kind, i)
        for reg in instance_regions(path.stem, probs, truth, truth > 0, 3):
            scores.append(reg.score)
            labels.append(False)
            clean_flags += 1
        if given is None:
            continue
        planted += 1
        by_kind[kind][1] += 1
        hit = None
        for reg in instance_regions(path.stem, probs, given, truth > 0, 3):
            match = hit is None and reg.kind == KIND[kind] and covers(reg, area)
            hit = reg if match else hit
            scores.append(reg.score)
            labels.append(bool(match))
        if hit is not None:
            found += 1
            by_kind[kind][0] += 1
            after = apply_region(hit, given)
            fixed += int(not misassigned(after, truth)[area].any())
    ap = float(average_precision_score(labels, scores)) * found / planted if found else 0.0
    return {
        "images": len(files),
        "planted": planted,
        "recall": found / planted if planted else 0.0,
        "recall_by_kind": {k: f / max(t, 1) for k, (f, t) in by_kind.items()},
        "ap": ap,
        "flags_per_untouched_mask": clean_flags / len(files),
        "fixed_share_of_found": fixed / found if found else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="folder holding masks_instance/")
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    print(json.dumps(run(args.data, args.n), indent=2))


if __name__ == "__main__":
    main()
