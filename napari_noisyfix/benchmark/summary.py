"""Tables over several benchmark runs (datasets, noise levels), read from their results.json, so
that every figure in BENCHMARKS.md comes from a command: ``python benchmarks/summarize.py``."""

from __future__ import annotations

from pathlib import Path

from ..errors import NoisyFixError
from .results import fmt, read_results

DETECTION_COLUMNS = (
    ("pixel AP ours", "detection.pixel_ap.noisyfix"),
    ("pixel AP cleanlab", "detection.pixel_ap.cleanlab"),
    ("ratio", "detection.pixel_ap_ratio"),
    ("image AUROC ours", "detection.image_auroc.noisyfix"),
    ("image AUROC cleanlab", "detection.image_auroc.cleanlab"),
    ("issues F1 ours", "detection.issues_f1.noisyfix"),
    ("issues F1 cleanlab", "detection.issues_f1.cleanlab"),
)
TYPES = ("add", "affine", "dilate", "drop", "erode")


def collect(folders: list[str | Path]) -> list[dict]:
    """Results of every ``results.json`` under ``folders`` (searched recursively), sorted by
    dataset and noise; each gains ``"path"``."""
    found = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("results.json")):
            found.append({**read_results(path), "path": str(path.parent)})
    if not found:
        raise NoisyFixError(f"no results.json under {', '.join(map(str, folders))}")
    return sorted(found, key=lambda r: (r.get("dataset", ""), r.get("noise.fraction", 0)))


def _row(cells) -> str:
    return "| " + " | ".join(cells) + " |"


def detection_table(runs: list[dict]) -> str:
    """Measure 1 across runs: one row per dataset and noise level."""
    head = ["dataset", "noise", "noisy Dice"] + [c for c, _ in DETECTION_COLUMNS]
    lines = [_row(head), _row(["---"] * len(head))]
    for r in runs:
        cells = [r["dataset"], fmt(r["noise.fraction"]), fmt(r.get("noise.mean_noisy_dice"))]
        lines.append(_row(cells + [fmt(r.get(k)) for _, k in DETECTION_COLUMNS]))
    return "\n".join(lines) + "\n"


def auroc_by_type_table(runs: list[dict]) -> str:
    """Image AUROC per noise type, ours / cleanlab."""
    head = ["dataset", "noise", *TYPES]
    lines = [_row(head), _row(["---"] * len(head))]
    for r in runs:
        cells = [
            f"{fmt(r.get(f'detection.image_auroc_by_type.noisyfix.{t}'))} / "
            f"{fmt(r.get(f'detection.image_auroc_by_type.cleanlab.{t}'))}"
            for t in TYPES
        ]
        lines.append(_row([r["dataset"], fmt(r["noise.fraction"]), *cells]))
    return "\n".join(lines) + "\n"


def run_facts(runs: list[dict]) -> str:
    """Where each run's files are, its device, budget and wall time."""
    lines = [_row(["dataset", "noise", "budget", "device", "wall time (s)", "output"])]
    lines.append(_row(["---"] * 6))
    for r in runs:
        cells = [r["dataset"], fmt(r["noise.fraction"]), str(r.get("budget")), str(r.get("device"))]
        lines.append(_row([*cells, fmt(r.get("seconds_total")), f"`{r['path']}`"]))
    return "\n".join(lines) + "\n"
