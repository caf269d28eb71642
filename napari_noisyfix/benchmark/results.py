"""``results.json``: one flat object whose keys are the literal dotted names of the issue
(``"review.dice_after.noisyfix.0.10"``: label Dice after 0.10 review actions per image), so each
name resolves with a plain lookup, plus extra keys of the same form. Also the markdown table
printed at the end of a run."""

from __future__ import annotations

import math
from pathlib import Path

from .._atomic import read_json, write_json
from ..errors import NoisyFixError
from .review_metrics import BUDGET_KEYS, METHODS, efficiency_key

TEXT_KEYS = ("dataset", "device", "budget", "noise.source", "noise.types", "instance.arch")
REQUIRED = (
    "dataset",
    "n_images",
    "device",
    "noise.source",
    "noise.types",
    "noise.fraction",
    "noise.seed",
    "noise.mean_noisy_dice",
    "detection.pixel_ap.noisyfix",
    "detection.pixel_ap.cleanlab",
    "detection.image_auroc.noisyfix",
    "detection.image_auroc.cleanlab",
    "detection.image_dice_r",
    "detection.image_dice_r.cleanlab",
    *(f"review.dice_after.{m}.{a}" for m in METHODS for a in BUDGET_KEYS),
    *(f"review.gap_recovered.noisyfix.{a}" for a in BUDGET_KEYS),
    "review.efficiency",
    "review.efficiency.random",
    "review.efficiency.cleanlab",
    "review.top10_precision",
    "review.accepted_unedited",
    "training.test_dice.ce_noisy",
    "training.test_dice.robust_noisy",
    "training.test_dice.ce_clean",
    "training.gap_recovered",
)
SPEED_KEYS = (
    "speed.forward_s_per_image",
    "speed.score_s_per_image",
    "speed.score_to_forward",
    "speed.train_step_s",
    "memory.peak_rss_mb",
)
#: Measure 5's keys per round (``loop.round<k>.<key>``).
LOOP_ROUND_KEYS = (
    "reviewed_share",
    "label_dice",
    "test_dice.before",
    "test_dice.after_update",
    "test_dice.full_retrain",
    "remaining.pixel_ap.before",
    "remaining.pixel_ap.after_update",
    "remaining.image_auroc.before",
    "remaining.image_auroc.after_update",
    "remaining.pixel_ap.before.cleanlab",
    "remaining.pixel_ap.after_update.cleanlab",
    "update_s",
    "full_retrain_s",
    "guard_kept",
    "guard_kept_folds",
    "guard_judged",
    "guard_whole",
)
LOOP_KEYS = tuple(f"loop.round{k}.{key}" for k in (1, 2) for key in LOOP_ROUND_KEYS)
REQUIRED = REQUIRED + SPEED_KEYS + LOOP_KEYS
#: The keys an instance run (``--labels instance``, marked by ``instance.arch``) adds; the AP is
#: ``nan`` (null) when the masks hold no merge or split error.
INSTANCE_KEYS = (
    "instance.arch",
    "instance.merge_split_ap.noisyfix",
    "instance.aji.before",
    "instance.aji.after",
    "instance.object_f1.before",
    "instance.object_f1.after",
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
    """Required keys that are absent or not a number (text keys: not a string); an instance
    run's :data:`INSTANCE_KEYS` too."""
    out = []
    for key in REQUIRED + (INSTANCE_KEYS if "instance.arch" in results else ()):
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


def noise_text(results: dict) -> str:
    """The noise of a run in words: ``noise 0.5 (protocol, seed 0)`` or ``given noise (0.4 of
    the masks differ from the truth)``."""
    r = results.get
    if r("noise.source") == "given":
        return f"given noise ({fmt(r('noise.fraction'))} of the masks differ from the truth)"
    types = r("noise.types", "protocol")
    return f"noise {r('noise.fraction')} ({types}, seed {r('noise.seed')})"


def markdown_table(results: dict) -> str:
    """The headline figures as markdown tables (detection, review, training, speed)."""
    r = results.get
    lines = [
        (
            f"**{r('dataset')}**: {r('n_images')} images, {noise_text(results)}, mean noisy-label "
            f"Dice {fmt(r('noise.mean_noisy_dice'))}, budget {r('budget')}, device {r('device')}"
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
    lines.append(
        f"| image Dice r | {fmt(r('detection.image_dice_r'))} | "
        f"{fmt(r('detection.image_dice_r.cleanlab'))} | |"
    )
    lines += _review_lines(results)
    lines += ["| training (test Dice) | ce_noisy | robust_noisy | ce_clean | gap recovered |"]
    lines.append("|---|---|---|---|---|")
    cells = " | ".join(
        fmt(r(f"training.test_dice.{k}")) for k in ("ce_noisy", "robust_noisy", "ce_clean")
    )
    lines.append(f"| held-out patients | {cells} | {fmt(r('training.gap_recovered'))} |")
    lines += ["", "| speed | value |", "|---|---|"]
    for key in SPEED_KEYS + ("speed.analysis_s_per_image", "speed.cleanlab_s_per_image"):
        lines.append(f"| {key} | {fmt(r(key))} |")
    lines += _loop_lines(results)
    lines += _instance_lines(results)
    return "\n".join(lines) + "\n"


def _instance_lines(results: dict) -> list[str]:
    """The instance figures (``--labels instance``): object-level errors and agreement."""
    if "instance.arch" not in results:
        return []
    r = results.get
    lines = ["", f"| instance ({r('instance.arch')}) | before review | after review |"]
    lines.append("|---|---|---|")
    for label, key in (("AJI", "aji"), ("object F1 (IoU 0.5)", "object_f1")):
        before, after = r(f"instance.{key}.before"), r(f"instance.{key}.after")
        lines.append(f"| {label} | {fmt(before)} | {fmt(after)} |")
    ap, recall = r("instance.merge_split_ap.noisyfix"), r("instance.merge_split_recall")
    errors, regions = r("instance.merge_split_errors"), r("instance.merge_split_regions")
    lines.append(
        f"\nmerge/split AP (noisyfix): {fmt(ap)}; recall {fmt(recall)} of {fmt(errors)} errors, "
        f"{fmt(regions)} merged/split regions"
    )
    return lines


def _loop_lines(results: dict) -> list[str]:
    """Measure 5: one column per round."""
    rounds = [k for k in (1, 2) if f"loop.round{k}.label_dice" in results]
    if not rounds:
        return []
    lines = ["", "| loop | " + " | ".join(f"round {k}" for k in rounds) + " |"]
    lines.append("|---" * (len(rounds) + 1) + "|")
    for key in LOOP_ROUND_KEYS + ("update_to_full",):
        cells = " | ".join(fmt(results.get(f"loop.round{k}.{key}")) for k in rounds)
        lines.append(f"| {key} | {cells} |")
    return lines


def _review_lines(results: dict) -> list[str]:
    """Measure 2: label Dice per budget of review actions per image, per order."""
    r = results.get
    lines = [
        "",
        "| label Dice after actions per image | " + " | ".join(BUDGET_KEYS) + " | efficiency |",
    ]
    lines.append("|---" * (len(BUDGET_KEYS) + 2) + "|")
    for method in METHODS:
        cells = " | ".join(fmt(r(f"review.dice_after.{method}.{a}")) for a in BUDGET_KEYS)
        lines.append(f"| {method} | {cells} | {fmt(r(efficiency_key(method)))} |")
    gaps = " | ".join(fmt(r(f"review.gap_recovered.noisyfix.{a}")) for a in BUDGET_KEYS)
    lines.append(f"| noisyfix gap recovered | {gaps} | |")
    lines.append(
        f"\ntop-10 precision (noisyfix): {fmt(r('review.top10_precision'))}; accepted unedited: "
        f"{fmt(r('review.accepted_unedited'))}\n"
    )
    return lines
