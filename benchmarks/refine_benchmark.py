"""Benchmark the refinement tools on a model's proposals at label noise 0.5.

On a folder with ``images/`` and ``masks/`` (default: the DSB 2018 fluorescence nuclei), the
masks are corrupted with the benchmark protocol's noise (:func:`napari_noisyfix.synth.noise.
corrupt_dataset`), a small U-Net is trained out of fold on the noisy masks (2 folds, so every
image is predicted by a model that never saw it), and its proposals (argmax of the out-of-fold
probabilities) are refined with every registered ``refine`` tool. Printed: mean Dice against the
expert masks before and after each tool, how many images improved or got worse, and the
milliseconds per 256x256 image.

Proposals can also come from existing probabilities: ``--probs DIR`` (``<name>.npy`` of shape
(C, H, W) for image ``<name>``) or ``--project PATH`` (the newest scores of a project with truth).

The defaults (30 images, 2 folds + final model, 40 steps of 4 crops of 64 px each) keep a run
within minutes on 2 CPU cores; the model is then weak, so give ``--epochs``/``--n`` (or a GPU) for
proposals closer to a trained model's.

Example::

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/refine_benchmark.py
    .venv/bin/python benchmarks/refine_benchmark.py /path/to/data --n 100 --epochs 10
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.io.pairs import read_folder_pairs
from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project
from napari_noisyfix.refine import refine, tool_names
from napari_noisyfix.synth.noise import corrupt_dataset, dice

DEFAULT_DATA = "/work/shared/data/dsb2018_nuclei_fluo"
PIXELS_256 = 256 * 256


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", nargs="?", default=DEFAULT_DATA, help="folder with images/ and masks/")
    p.add_argument("--n", type=int, default=30, help="images used (first n by name)")
    p.add_argument("--noise", type=float, default=0.5, help="fraction of masks corrupted")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--probs", type=Path, help="folder of <name>.npy (C, H, W) probabilities")
    p.add_argument("--project", type=Path, help="project whose newest scores hold probs")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--steps-per-epoch", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--image-size", type=int, default=64, help="training crop size")
    p.add_argument("--folds", type=int, default=2)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--tools", default=",".join(tool_names("refine")), help="comma-separated")
    p.add_argument("--work", type=Path, help="where the temporary project goes")
    p.add_argument("--save-probs", type=Path, help="keep the trained probabilities here")
    return p.parse_args(argv)


def load_truth(folder: Path, n: int) -> tuple[dict, dict]:
    """Images and binary expert masks (uint8 0/1) of the first ``n`` pairs by name."""
    pairs = read_folder_pairs(folder / "images", folder / "masks")
    pairs = sorted(pairs, key=lambda p: p.name)[:n]
    return {p.name: p.image for p in pairs}, {p.name: (p.mask > 0).astype(np.uint8) for p in pairs}


def probs_from_folder(folder: Path, names: list[str]) -> dict[str, np.ndarray]:
    """``<name>.npy`` probabilities for the names that have one."""
    out = {n: np.load(folder / f"{n}.npy", allow_pickle=False) for n in names}
    return {n: p.astype(np.float32) for n, p in out.items()}


def probs_from_project(root: Path) -> tuple[dict, dict, dict]:
    """Images, truth and newest probabilities of the project images that have all three."""
    project = Project.open(root, mode="read")
    images, truth, probs = {}, {}, {}
    for name in project.names:
        t, p = project.truth(name), project.load_probs(name)
        if t is not None and p is not None:
            images[name], truth[name], probs[name] = project.image(name), t, p
    if not probs:
        raise NoisyFixError(f"{root}: no image has both truth and scored probabilities")
    return images, truth, probs


def train_proposals(args, images: dict, truth: dict, work: Path) -> tuple[dict, float]:
    """Train out of fold on noisy masks; return (probabilities by name, mean noisy-label Dice)."""
    import torch

    from napari_noisyfix.model.config import TrainConfig
    from napari_noisyfix.model.oof import train_out_of_fold

    torch.set_num_threads(args.threads)
    noisy, log = corrupt_dataset(truth, args.noise, seed=args.seed)
    project = Project.create(work / "project", images, noisy, truth=truth, force=True)
    config = TrainConfig(
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size,
        image_size=args.image_size,
        device=args.device,
        seed=args.seed,
    )
    version = drive(train_out_of_fold(project, config, args.folds), "training")
    probs = {n: project.load_probs(n, version) for n in project.names}
    return probs, float(np.mean([row["dice"] for row in log]))


def evaluate_tool(tool: str, images, truth, proposals, probs) -> dict:
    """Mean Dice after ``tool``, images improved / worse, and ms per 256x256 image."""
    scores, seconds, pixels = {}, 0.0, 0
    for name, proposal in proposals.items():
        start = time.perf_counter()
        out = refine(tool, images[name], proposal, probs=probs[name])
        seconds += time.perf_counter() - start
        pixels += proposal.size
        scores[name] = dice(out, truth[name])
    return {"scores": scores, "ms": 1000.0 * seconds * PIXELS_256 / pixels}


def table(base: dict, rows: dict[str, dict], noisy_dice: float | None) -> str:
    """Markdown table of the results."""
    mean = float(np.mean(list(base.values())))
    header = (
        "| proposals refined with | mean Dice vs expert | change | improved / worse | ms / 256² |"
    )
    lines = [header, "|---|---|---|---|---|"]
    if noisy_dice is not None:
        lines.append(f"| (noisy labels given to the model) | {noisy_dice:.4f} | | | |")
    lines.append(f"| none (model proposals) | {mean:.4f} | | | |")
    for tool, row in rows.items():
        after = np.array([row["scores"][n] for n in base])
        before = np.array(list(base.values()))
        better, worse = int((after > before + 1e-4).sum()), int((after < before - 1e-4).sum())
        lines.append(
            f"| {tool} | {after.mean():.4f} | {after.mean() - mean:+.4f} | {better} / {worse} "
            f"| {row['ms']:.1f} |"
        )
    return "\n".join(lines)


def gather(args) -> tuple[dict, dict, dict, float | None]:
    """Images, truth, probabilities and (when trained here) the noisy-label Dice."""
    if args.project:
        return (*probs_from_project(args.project), None)
    images, truth = load_truth(Path(args.data), args.n)
    if args.probs:
        return images, truth, probs_from_folder(args.probs, list(images)), None
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        probs, noisy_dice = train_proposals(args, images, truth, Path(tmp))
    if args.save_probs:
        args.save_probs.mkdir(parents=True, exist_ok=True)
        for name, p in probs.items():
            np.save(args.save_probs / f"{name}.npy", p)
    return images, truth, probs, noisy_dice


def main(argv=None) -> int:
    """Run the benchmark and print the markdown table."""
    args = parse_args(argv)
    start = time.perf_counter()
    images, truth, probs, noisy_dice = gather(args)
    proposals = {n: p.argmax(axis=0).astype(np.uint8) for n, p in probs.items()}
    base = {n: dice(proposals[n], truth[n]) for n in proposals}
    tools = [t for t in args.tools.split(",") if t]
    rows = {t: evaluate_tool(t, images, truth, proposals, probs) for t in tools}
    print(f"\n{len(base)} images from {args.project or args.data}, noise {args.noise}, "
          f"seed {args.seed}, {time.perf_counter() - start:.0f} s in all\n")  # fmt: skip
    print(table(base, rows, noisy_dice))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
