"""``results.json``: one flat object whose keys are the literal dotted names of the issue
(``"review.dice_after.noisyfix.0.05"``), so each name resolves with a plain lookup, plus extra
keys of the same form. Also the markdown table printed at the end of a run."""

from __future__ import annotations

import math
from pathlib import Path

from .._atomic import read_json, write_json
from ..errors import NoisyFixError

FRACTION_KEYS = ("0.05", "0.10", "0.25", "0.50")
TEXT_KEYS = ("dataset", "device", "budget")
REQUIRED = (
    "dataset",
    "n_images",
    "device",
    "noise.fraction",
    "noise.seed",
    "noise.mean_noisy_dice",
    "detection.pixel_ap.noisyfix",
    "detection.pixel_ap.cleanlab",
    "detection.image_auroc.noisyfix",
    "detection.image_auroc.cleanlab",
    *(
        f"review.dice_after.{m}.{f}"
        for m in ("noisyfix", "random", "cleanlab")
        for f in FRACTION_KEYS
    ),
    "review.gap_recovered.noisyfix.0.10",
    "review.gap_recovered.noisyfix.0.25",
    "review.accepted_unedited",
    "training.test_dice.ce_noisy",
    "training.test_dice.robust_noisy",
    "training.test_dice.ce_clean",
    "training.gap_recovered",
    "speed.forward_s_per_image",
    "speed.score_s_per_image",
    "speed.score_to_forward",
    "speed.train_step_s",
    "memory.peak_rss_mb",
)


def resolve(results: dict, key: str):
    """The value of a dotted key: the literal key, else a walk through nested dicts."""
    if key in results:
        return results[key]
    node = results
    parts = key.split(".")
    while parts:
        for i in range(len(parts), 0, -1):
            head = ".".join(parts[:i])
            if isinstance(node, dict) and head in node:
                node, parts = node[head], parts[i:]
                break
        else:
            raise KeyError(key)
    return node


def missing_keys(results: dict) -> list[str]:
    """Required keys that are absent or not a number (text keys: not a string)."""
    out = []
    for key in REQUIRED:
        try:
            value = resolve(results, key)
        except KeyError:
            out.append(key)
            continue
        ok = isinstance(value, str) if key in TEXT_KEYS else _is_number(value)
        if not ok:
            out.append(key)
    return out


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def write_results(path: Path, results: dict, require: bool = True) -> Path:
    """Write ``results`` (NaN becomes null); with ``require``, first check that every required
    key is there and a number."""
    missing = missing_keys(results) if require else []
    if missing:
        raise NoisyFixError(f"{path}: benchmark results lack {', '.join(missing)}")
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in results.items()}
    return write_json(path, clean)


def read_results(path: Path) -> dict:
    """A results.json written by :func:`write_results`."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise NoisyFixError(f"{path}: not a benchmark results object")
    return data


def fmt(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) >= 0.01 or value == 0 else f"{value:.2e}"
    return str(value)


def markdown_table(results: dict) -> str:
    """The headline figures as markdown tables (detection, review, training, speed)."""
    r = results.get
    lines = [
        (
            f"**{r('dataset')}**: {r('n_images')} images, noise {r('noise.fraction')} "
            f"(seed {r('noise.seed')}), mean noisy-label Dice {fmt(r('noise.mean_noisy_dice'))}, "
            f"budget {r('budget')}, device {r('device')}"
        ),
        "",
        "| detection | noisyfix | cleanlab | ratio |",
        "|---|---|---|---|",
    ]
    for metric in ("pixel_ap", "image_auroc"):
        lines.append(
            f"| {metric} | {fmt(r(f'detection.{metric}.noisyfix'))} | "
            f"{fmt(r(f'detection.{metric}.cleanlab'))} | {fmt(r(f'detection.{metric}_ratio'))} |"
        )
    for metric in ("precision", "recall", "f1"):
        lines.append(
            f"| issues {metric} | {fmt(r(f'detection.issues_{metric}.noisyfix'))} | "
            f"{fmt(r(f'detection.issues_{metric}.cleanlab'))} | |"
        )
    lines += ["", "| label Dice after reviewing | " + " | ".join(FRACTION_KEYS) + " |"]
    lines.append("|---" * (len(FRACTION_KEYS) + 1) + "|")
    for method in ("noisyfix", "random", "cleanlab"):
        cells = " | ".join(fmt(r(f"review.dice_after.{method}.{f}")) for f in FRACTION_KEYS)
        lines.append(f"| {method} | {cells} |")
    gaps = " | ".join(fmt(r(f"review.gap_recovered.noisyfix.{f}")) for f in FRACTION_KEYS)
    lines.append(f"| noisyfix gap recovered | {gaps} |")
    lines.append(f"\naccepted unedited (noisyfix): {fmt(r('review.accepted_unedited'))}\n")
    lines += ["| training (test Dice) | ce_noisy | robust_noisy | ce_clean | gap recovered |"]
    lines.append("|---|---|---|---|---|")
    cells = " | ".join(
        fmt(r(f"training.test_dice.{k}")) for k in ("ce_noisy", "robust_noisy", "ce_clean")
    )
    lines.append(f"| held-out patients | {cells} | {fmt(r('training.gap_recovered'))} |")
    lines += ["", "| speed | value |", "|---|---|"]
    for key in REQUIRED[-5:] + ("speed.analysis_s_per_image", "speed.cleanlab_s_per_image"):
        lines.append(f"| {key} | {fmt(r(key))} |")
    return "\n".join(lines) + "\n"
