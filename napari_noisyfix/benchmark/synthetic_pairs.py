"""``noisyfix synth-benchmark``: when do SinGAN-Seg pairs help a segmentation model trained on
few real images?

Patient-level K-fold cross-validation on a folder of ``images/`` + ``masks/`` (expert masks, no
label noise). In each fold, ``--real`` images of the training part (seeded, with objects) each get
a generator; ``--synthetic`` pairs are drawn from them in all, once styled after a real training
image and once as generated. One UNet++ (smp) per arm and fold, all with the same schedule, is
scored on the fold's held-out real images:

==============================  =========================================================
``real``                        the ``--real`` images only
``real_plus_synthetic``         plus the styled synthetic pairs (``--style``)
``real_plus_synthetic_nostyle`` plus the same pairs without style transfer
``real_plus_synthetic_encoder`` plus the same pairs styled by AdaIN statistics of the
                                ``real`` arm's trained encoder (``adain_encoder``)
``synthetic``                   the styled synthetic pairs only
``real_all``                    every real image of the training part (the ceiling)
==============================  =========================================================

The encoder arm uses the fold's own ``real`` model (trained on the fold's real images only), so
no held-out image reaches its style transfer; it comes after ``real`` for that reason.

Synthetic pairs come only from a fold's own training images, and are never scored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import NoisyFixError
from ..evaluate import METRICS, image_metrics, make_folds, summarize
from ..progress import Progress, restage

ARMS = (
    "real",
    "real_plus_synthetic",
    "real_plus_synthetic_nostyle",
    "real_plus_synthetic_encoder",
    "synthetic",
    "real_all",
)


@dataclass(frozen=True)
class SynthBudget:
    """Sizes and schedules: working ``size`` (shorter side), ``folds``, the generator's
    ``gen_size`` / ``gen_scales`` / ``gen_iters`` / ``gen_g_steps`` / ``gen_width`` / ``gen_lr``
    and every UNet++'s ``epochs`` x ``steps`` x ``batch``. ``fast`` fits a busy 2-core CPU in
    about 15 minutes at ``--real 2``; ``full`` is for a GPU."""

    name: str
    size: int
    folds: int
    gen_size: int
    gen_scales: int
    gen_iters: int
    gen_g_steps: int
    gen_width: int
    gen_lr: float
    epochs: int
    steps: int
    batch: int


SYNTH_BUDGETS = {
    "tiny": SynthBudget("tiny", 64, 2, 24, 2, 100, 1, 8, 2e-3, 1, 2, 2),
    "fast": SynthBudget("fast", 64, 2, 64, 4, 80, 2, 32, 1e-3, 5, 6, 4),
    "full": SynthBudget("full", 256, 5, 128, 6, 1000, 3, 32, 5e-4, 30, 50, 16),
}


def get_synth_budget(name: str) -> SynthBudget:
    try:
        return SYNTH_BUDGETS[name]
    except KeyError:
        raise NoisyFixError(
            f"unknown budget {name!r}; choose from {', '.join(SYNTH_BUDGETS)}"
        ) from None


def _singan_config(plan: SynthBudget, device: str, seed: int):
    from ..synth.singan_config import SinGANConfig

    return SinGANConfig(
        size=plan.gen_size,
        min_size=min(16, plan.gen_size),
        scales=plan.gen_scales,
        iters=plan.gen_iters,
        g_steps=plan.gen_g_steps,
        d_steps=1,
        width=plan.gen_width,
        lr=plan.gen_lr,
        device=device,
        seed=seed,
    )


def _train_config(plan: SynthBudget, device: str, seed: int):
    from ..model.config import TrainConfig

    return TrainConfig.plain(
        arch="unetplusplus",
        loss="ce_dice",
        epochs=plan.epochs,
        steps_per_epoch=plan.steps,
        batch_size=plan.batch,
        image_size=None,
        val_fraction=0.0,
        device=device,
        seed=seed,
    )


def check_real(real: int, synthetic: int, folds: list[list[str]], names: list[str]) -> None:
    """``--real`` must fit every fold's training part, ``--synthetic`` be at least ``--real``."""
    smallest = min(len(names) - len(f) for f in folds)
    if real < 1 or real > smallest:
        raise NoisyFixError(
            f"--real {real}: must be 1..{smallest}, the smallest fold's training images"
        )
    if synthetic < real:
        raise NoisyFixError(f"--synthetic {synthetic}: must be at least --real ({real})")


def run_synth_benchmark(
    data_dir,
    out,
    real: int = 5,
    synthetic: int = 50,
    budget: str = "fast",
    style: str = "fda",
    seed: int = 0,
    device: str = "auto",
):
    """The experiment (a generator of Progress); returns the results dict, also written to
    ``OUT/results.json`` with ``OUT/results.md`` and ``OUT/pairs.png``."""
    from .dataset import build_project, prepare
    from .run import code_version, describe_device

    plan = get_synth_budget(budget)
    out = Path(out)
    data = prepare(data_dir, noise=0.0, seed=seed, size=plan.size)
    project = build_project(data, out / "project", truth_as_labels=True)
    folds = make_folds(project, plan.folds, "patient", seed)
    check_real(real, synthetic, folds, project.names)
    rows = {arm: [] for arm in ARMS}
    gen_seconds, skipped, shown = [], [], None
    for k, held in enumerate(folds):
        stage = f"fold {k + 1}/{len(folds)}"
        pool = [n for n in project.names if n not in set(held)]
        job = _fold_pairs(
            project,
            _candidates(project, pool, seed + k),
            real,
            synthetic,
            plan,
            style,
            device,
            seed + k,
        )
        made = yield from restage(job, stage)
        chosen = made["chosen"]
        gen_seconds += made["seconds"]
        skipped += made["skipped"]
        shown = shown or (chosen, made)
        arms = {
            "real": chosen,
            "real_plus_synthetic": chosen + made["styled"],
            "real_plus_synthetic_nostyle": chosen + made["raw"],
            "synthetic": made["styled"],
            "real_all": pool,
        }
        real_model = None
        for arm in ARMS:
            if arm == "real_plus_synthetic_encoder":  # needs the real arm's model, trained above
                yield Progress(f"{stage}: {arm}", 0, 1, "styling with the real arm's encoder")
                arms[arm] = chosen + _encoder_pairs(project, made, chosen, real_model, seed + k)
            preds, result = yield from restage(
                _train_predict(project, arms[arm], held, _train_config(plan, device, seed)),
                f"{stage}: {arm}",
            )
            if arm == "real":
                real_model = result
            fold_rows = [image_metrics(preds[n], project.truth(n), 2) for n in held]
            rows[arm].append({m: v["mean"] for m, v in summarize(fold_rows).items()})
    results = {
        "dataset": data.dataset,
        "budget": plan.name,
        "real": real,
        "synthetic": synthetic,
        "style": style,
        "folds": len(folds),
        "n_images": len(project.names),
        "size": list(project.entry(project.names[0])["shape"]),
        "device": describe_device(device),
        **code_version(),
        "generator.seconds_per_image.mean": float(np.mean(gen_seconds)),
        "generator.seconds_per_image.std": float(np.std(gen_seconds)),
        "generator.trained": len(gen_seconds),
        "generator.skipped_no_objects": len(skipped),
        "generator.settings": _singan_config(plan, device, seed).to_dict(),
    }
    for arm in ARMS:
        summary = summarize(rows[arm])
        for metric in METRICS:
            results[f"cv.{arm}.{metric}.mean"] = summary[metric]["mean"]
            results[f"cv.{arm}.{metric}.std"] = summary[metric]["sd"]
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "results.md").write_text(results_markdown(results))
    plot_pairs(project, *shown, out / "pairs.png")
    return results


def _candidates(project, pool: list[str], seed: int) -> list[str]:
    """The images of ``pool`` with objects, in a seeded order (the first ``--real`` that get a
    working generator are the fold's real images)."""
    with_objects = [n for n in pool if project.truth(n).any()]
    return np.random.default_rng(seed).permutation(with_objects).tolist()


def _generators(project, candidates, real, config):
    """Train generators down ``candidates`` until ``real`` of them draw objects; a generator
    whose samples hold no object (a short CPU schedule can leave one so) is set aside, and its
    image with it, at most ``real`` times. Returns ``{name: model}``, the skipped names and the
    seconds of every training."""
    from ..synth.singan_train import train_singan

    models, skipped, seconds = {}, [], []
    for name in candidates:
        if len(models) == real or len(skipped) > real:
            break
        yield Progress("generators", len(models), real, name)
        job = train_singan(project.image(name), project.truth(name), config, name)
        model = yield from restage(job, f"generator {len(models) + 1}/{real}")
        seconds.append(model.settings["seconds"])
        try:
            model.sample(1, seed=0, where=name)
            models[name] = model
        except NoisyFixError:
            skipped.append(name)
    if len(models) < real:
        raise NoisyFixError(f"only {len(models)} of {real} generators drew objects ({skipped})")
    return models, skipped, seconds


def _fold_pairs(project, candidates, real, synthetic, plan, style, device, seed):
    """Generators for ``real`` images, ``synthetic`` pairs from them, added styled and raw."""
    from ..synth.store import styled_pairs

    config = _singan_config(plan, device, seed)
    models, skipped, seconds = yield from _generators(project, candidates, real, config)
    chosen = sorted(models)
    per = -(-synthetic // real)
    styles = [project.image(n) for n in chosen]
    entries, pairs = [], {}
    names = {"styled": [], "raw": []}
    for i, name in enumerate(chosen):
        count = min(per, synthetic - i * per)
        if count <= 0:
            continue
        shape = tuple(project.entry(name)["shape"])
        for kind, how in (("styled", style), ("raw", "none")):
            made = styled_pairs(models[name], count, styles, how, seed + i, shape, name)
            for j, pair in enumerate(made):
                syn = f"{name}.f{seed}{kind[0]}{j:03d}"
                pairs[syn] = pair
                names[kind].append(syn)
                entries.append({"name": syn, "source": name, "generator_version": 0, "style": how})
    project.set_synthetic(entries, pairs)
    return {**names, "chosen": chosen, "skipped": skipped, "seconds": seconds}


def _encoder_pairs(project, made, chosen, result, seed) -> list[str]:
    """The fold's unstyled pairs styled by AdaIN statistics of ``result``'s trained encoder,
    each after the same real image the ``--style`` arm drew for it; added, and named."""
    from ..model.predictor import Predictor
    from ..synth.store import style_pairs

    encoder = Predictor.from_result(result).model.net.encoder
    styles = [project.image(n) for n in chosen]
    entries, pairs = [], {}
    for i, source in enumerate(chosen):
        raw = [n for n in made["raw"] if project.entry(n)["source"] == source]
        made_raw = [(project.image(n), project.mask(n)) for n in raw]
        styled = style_pairs(made_raw, styles, "adain_encoder", seed + i, encoder)
        for j, pair in enumerate(styled):
            syn = f"{source}.f{seed}e{j:03d}"
            pairs[syn] = pair
            entries.append(
                {"name": syn, "source": source, "generator_version": 0, "style": "adain_encoder"}
            )
    project.set_synthetic(entries, pairs)
    return [e["name"] for e in entries]


def _train_predict(project, names, held, config):
    """Train on exactly ``names`` (no validation split) and predict ``held``; returns the
    predictions and the training result."""
    from ..model.predictor import Predictor
    from ..model.trainer import train

    result = yield from train(project, config, names=names, val_names=[])
    outputs = Predictor.from_result(result).predict_batch([project.image(n) for n in held])
    return {n: np.argmax(p.probs, axis=0) for n, p in zip(held, outputs, strict=True)}, result


def results_markdown(results: dict) -> str:
    """The arms as a table of mean ± sd over folds."""
    head = "| arm | " + " | ".join(METRICS) + " |"
    lines = [
        f"# SinGAN-Seg small-data experiment: {results['dataset']}",
        "",
        (
            f"{results['folds']}-fold patient-level CV over {results['n_images']} images at "
            f"{results['size'][0]}x{results['size'][1]}; {results['real']} real images per fold, "
            f"{results['synthetic']} synthetic pairs (style {results['style']}; the encoder arm "
            "styles the same pairs with the real arm's encoder); budget "
            f"{results['budget']}; device {results['device']}; commit {results['git_commit'][:10]}"
            f"{' (dirty)' if results['git_dirty'] else ''}."
        ),
        (
            f"Generator training: {results['generator.seconds_per_image.mean']:.1f} ± "
            f"{results['generator.seconds_per_image.std']:.1f} s per image."
        ),
        "",
        head,
        "|" + "---|" * (len(METRICS) + 1),
    ]
    for arm in ARMS:
        cells = [
            f"{results[f'cv.{arm}.{m}.mean']:.3f} ± {results[f'cv.{arm}.{m}.std']:.3f}"
            for m in METRICS
        ]
        lines.append(f"| {arm} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_pairs(project, chosen, made, path: Path, rows: int = 3, cols: int = 3) -> Path:
    """Real images next to generated pairs (styled), each with its mask's outline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = chosen[:rows]
    fig, axes = plt.subplots(len(shown), cols + 1, figsize=(2.2 * (cols + 1), 2.2 * len(shown)))
    axes = np.atleast_2d(axes)
    for r, name in enumerate(shown):
        syn = [n for n in made["styled"] if project.entry(n)["source"] == name][:cols]
        panels = [(name, "real")] + [(n, "generated") for n in syn]
        for c, ax in enumerate(axes[r]):
            ax.axis("off")
            if c < len(panels):
                _outlined(ax, project.image(panels[c][0]), project.mask(panels[c][0]))
                ax.set_title(panels[c][1], fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _outlined(ax, image, mask) -> None:
    from skimage.segmentation import find_boundaries

    img = np.asarray(image, dtype=float)
    img = (img - img.min()) / (np.ptp(img) or 1.0)
    rgb = np.repeat(img[..., None], 3, axis=-1) if img.ndim == 2 else img
    rgb = rgb.copy()
    rgb[find_boundaries(mask > 0, mode="inner")] = (1.0, 0.9, 0.0)
    ax.imshow(rgb)


def synth_benchmark_command(args) -> int:
    """``noisyfix synth-benchmark``: run, print the table and where it went."""
    from ..progress import drive

    results = drive(
        run_synth_benchmark(
            args.data,
            args.out,
            args.real,
            args.synthetic,
            args.budget,
            args.style,
            args.seed,
            args.device,
        )
    )
    print(results_markdown(results))
    print(f"results written to {Path(args.out) / 'results.json'}")
    return 0
