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
    head = ["dataset", "noise", "budget", "device", "wall time (s)", "commit", "output"]
    lines = [_row(head), _row(["---"] * len(head))]
    for r in runs:
        cells = [r["dataset"], fmt(r["noise.fraction"]), str(r.get("budget")), str(r.get("device"))]
        commit = str(r.get("git_commit", "?"))[:10] + (" (dirty)" if r.get("git_dirty") else "")
        lines.append(_row([*cells, fmt(r.get("seconds_total")), commit, f"`{r['path']}`"]))
    return "\n".join(lines) + "\n"


def _pixel_ap_target(r: dict) -> float:
    peer = r["detection.pixel_ap.cleanlab"]
    return min(1.25 * peer, peer + (1.0 - peer) / 2)


#: The protocol's targets at noise 0.5: (name, measured key, required value or function, sense).
TARGETS = (
    (
        "pixel AP >= 1.25x cleanlab (or half its shortfall to 1)",
        "detection.pixel_ap.noisyfix",
        _pixel_ap_target,
        ">=",
    ),
    ("image AUROC >= 0.95", "detection.image_auroc.noisyfix", lambda r: 0.95, ">="),
    (
        "image AUROC above cleanlab",
        "detection.image_auroc.noisyfix",
        lambda r: r["detection.image_auroc.cleanlab"],
        ">",
    ),
    (
        "gap recovered after 10% of the queue >= 60%",
        "review.gap_recovered.noisyfix.0.10",
        lambda r: 0.60,
        ">=",
    ),
    (
        "gap recovered after 25% of the queue >= 85%",
        "review.gap_recovered.noisyfix.0.25",
        lambda r: 0.85,
        ">=",
    ),
    ("proposals accepted unedited >= 60%", "review.accepted_unedited", lambda r: 0.60, ">="),
    ("robust training recovers >= 75% of the gap", "training.gap_recovered", lambda r: 0.75, ">="),
    ("scoring <= 1.3x the forward pass", "speed.score_to_forward", lambda r: 1.3, "<="),
)


def targets_table(runs: list[dict]) -> str:
    """Each protocol target for each run at noise 0.5: required, measured, met or missed and by
    how much."""
    lines = [_row(["target", "dataset", "required", "measured", "verdict"]), _row(["---"] * 5)]
    for name, key, required, sense in TARGETS:
        for r in (r for r in runs if r.get("noise.fraction") == 0.5):
            try:
                need, got = required(r), r[key]
            except (KeyError, TypeError):
                continue
            if got is None:
                verdict = "undefined"
            else:
                met = {">=": got >= need, ">": got > need, "<=": got <= need}[sense]
                verdict = "met" if met else f"missed by {fmt(abs(need - got))}"
            lines.append(_row([name, r["dataset"], f"{sense} {fmt(need)}", fmt(got), verdict]))
    return "\n".join(lines) + "\n"
