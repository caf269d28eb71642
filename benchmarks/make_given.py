"""Write a benchmark folder whose masks carry fixed label errors, for ``noisyfix benchmark --truth``.

The images and the true masks of DATA are linked (not copied) into OUT/images and OUT/truth; the
masks in OUT/masks are corrupted once, with the protocol's noise generator (``--noise-types``,
``--noise``, ``--seed``), at the data's resolution. Running

    python benchmarks/make_given.py /work/shared/data/dsb2018_nuclei_histo /tmp/given_histo \
        --noise-types realistic --noise 0.5 --seed 1
    noisyfix benchmark /tmp/given_histo --truth /tmp/given_histo/truth --out /tmp/bench_given

then exercises the real-noise path end to end: the tool sees the masks as given, as it would a
user's, and every measure runs against OUT/truth.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import imageio.v3 as iio
import numpy as np

from napari_noisyfix.benchmark.dataset import read_folder
from napari_noisyfix.io.pairs import folder_entries
from napari_noisyfix.synth.noise import corrupt_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="folder with images/ and masks/ (PNG masks, 0/255)")
    parser.add_argument("out", help="new folder for images/ (links), masks/ and truth/ (links)")
    parser.add_argument("--noise", type=float, default=0.5)
    parser.add_argument("--noise-types", default="realistic")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    data, out = Path(args.data).resolve(), Path(args.out)
    pairs = read_folder(data)
    truth = {p.name: (np.asarray(p.mask) > 0).astype(np.uint8) for p in pairs}
    noisy, log = corrupt_dataset(truth, args.noise, args.seed, kinds=args.noise_types)
    images, masks = (
        folder_entries(data / "images", "images"),
        folder_entries(data / "masks", "masks"),
    )
    for sub in ("images", "masks", "truth"):
        (out / sub).mkdir(parents=True, exist_ok=False)
    for name in truth:
        (out / "images" / images[name].name).symlink_to(images[name])
        (out / "truth" / masks[name].name).symlink_to(masks[name])
        iio.imwrite(out / "masks" / f"{name}.png", (noisy[name] * 255).astype(np.uint8))
    (out / "noise_log.json").write_text(json.dumps(log, indent=1))
    changed = sum(bool(r["corrupted"]) for r in log)
    print(f"{out}: {len(pairs)} images, {changed} masks corrupted ({args.noise_types})")


if __name__ == "__main__":
    main()
