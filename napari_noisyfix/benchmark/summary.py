"""Tables over several benchmark runs (datasets, noise levels), read from their results.json, so
that every figure in BENCHMARKS.md comes from a command: ``python benchmarks/summarize.py``."""

from __future__ import annotations

from pathlib import Path

from ..errors import NoisyFixError
from .results import fmt, read_results
from .review_metrics import BUDGET_KEYS, METHODS, efficiency_key

DETECTION_COLUMNS = (
    ("pixel AP ours", "detection.pixel_ap.noisyfix"),
    ("pixel AP cleanlab", "detection.pixel_ap.cleanlab"),
    ("ratio", "detection.pixel_ap_ratio"),
    ("image AUROC ours", "detection.image_auroc.noisyfix"),
    ("image AUROC cleanlab", "detection.image_auroc.cleanlab"),
    ("issues F1 ours", "detection.issues_f1.noisyfix"),
    ("issues F1 cleanlab", "detection.issues_f1.cleanlab"),
)
REVIEW_COLUMNS = (
    ("efficiency", "review.efficiency"),
    ("top-10 precision", "review.top10_precision"),
    ("accepted unedited", "review.accepted_unedited"),
    ("image Dice r ours", "detection.image_dice_r"),
    ("image Dice r cleanlab", "detection.image_dice_r.cleanlab"),
)
_BY_TYPE = "detection.image_auroc_by_type.noisyfix."


def collect(folders: list[str | Path]) -> list[dict]:
    """Results of every ``results.json`` under ``folders`` (searched recursively), sorted by
    dataset and noise; each gains ``"path"``."""
    found = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("results.json")):
            found.append({**read_results(path), "path": str(path.parent)})
    if not found:
        raise NoisyFixError(f"no results.json under {', '.join(map(str, folders))}")
    return sorted(found, key=lambda r: (r.get("dataset", ""), noise_label(r)))


def noise_label(r: dict) -> str:
    """The noise of a run in a table cell: the fraction, followed by the noise types unless they
    are the protocol's (``0.500 realistic``); ``given (0.400)`` for real noise (the share of
    masks that differ from the truth). Runs older than the noise types count as protocol."""
    if r.get("noise.source") == "given":
        return f"given ({fmt(r.get('noise.fraction'))})"
    types = r.get("noise.types", "protocol")
    return fmt(r.get("noise.fraction")) + ("" if types == "protocol" else f" {types}")


def _row(cells) -> str:
    return "| " + " | ".join(cells) + " |"


def detection_table(runs: list[dict]) -> str:
    """Measure 1 across runs: one row per dataset and noise level."""
    head = ["dataset", "noise", "noisy Dice"] + [c for c, _ in DETECTION_COLUMNS]
    lines = [_row(head), _row(["---"] * len(head))]
    for r in runs:
        cells = [r["dataset"], noise_label(r), fmt(r.get("noise.mean_noisy_dice"))]
        lines.append(_row(cells + [fmt(r.get(k)) for _, k in DETECTION_COLUMNS]))
    return "\n".join(lines) + "\n"


def auroc_by_type_table(runs: list[dict]) -> str:
    """Image AUROC per noise type, ours / cleanlab: a column for every type of any run."""
    types = sorted({k[len(_BY_TYPE) :] for r in runs for k in r if k.startswith(_BY_TYPE)})
    head = ["dataset", "noise", *types]
    lines = [_row(head), _row(["---"] * len(head))]
    for r in runs:
        cells = [
            f"{fmt(r.get(f'detection.image_auroc_by_type.noisyfix.{t}'))} / "
            f"{fmt(r.get(f'detection.image_auroc_by_type.cleanlab.{t}'))}"
            for t in types
        ]
        lines.append(_row([r["dataset"], noise_label(r), *cells]))
    return "\n".join(lines) + "\n"


def review_curve_table(runs: list[dict]) -> str:
    """Measure 2 across runs: label Dice before review and after each budget of review actions
    per image, and the efficiency (area under gap recovered, over the oracle's), one row per run
    and order."""
    steps = [f"{a} actions/image" for a in BUDGET_KEYS]
    head = ["dataset", "noise", "order", "Dice before", *steps, "efficiency"]
    lines = [_row(head), _row(["---"] * len(head))]
    for r in (r for r in runs if "review.efficiency" in r):
        for method in METHODS:
            cells = [fmt(r.get(f"review.dice_after.{method}.{a}")) for a in BUDGET_KEYS]
            cells = [fmt(r.get("review.dice_before")), *cells, fmt(r.get(efficiency_key(method)))]
            lines.append(_row([r["dataset"], noise_label(r), method, *cells]))
    return "\n".join(lines) + "\n"


def review_table(runs: list[dict]) -> str:
    """Measure 2's headline figures across runs: the tool's efficiency, top-10 precision, share
    of proposals accepted unedited, and the Pearson r of estimated and true per-image Dice (the
    tool's and, in the same role, cleanlab's softmin image quality)."""
    head = ["dataset", "noise", *(c for c, _ in REVIEW_COLUMNS)]
    lines = [_row(head), _row(["---"] * len(head))]
    for r in (r for r in runs if "review.efficiency" in r):
        cells = [fmt(r.get(k)) for _, k in REVIEW_COLUMNS]
        lines.append(_row([r["dataset"], noise_label(r), *cells]))
    return "\n".join(lines) + "\n"


def run_facts(runs: list[dict]) -> str:
    """Where each run's files are, its device, budget and wall time."""
    head = ["dataset", "noise", "budget", "device", "wall time (s)", "commit", "output"]
    lines = [_row(head), _row(["---"] * len(head))]
    for r in runs:
        cells = [r["dataset"], noise_label(r), str(r.get("budget")), str(r.get("device"))]
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
        "estimated vs true image Dice, Pearson r >= 0.9",
        "detection.image_dice_r",
        lambda r: 0.9,
        ">=",
    ),
    ("review efficiency (over the oracle's) >= 0.8", "review.efficiency", lambda r: 0.8, ">="),
    ("precision of the first 10 regions >= 0.9", "review.top10_precision", lambda r: 0.9, ">="),
    ("proposals accepted unedited >= 60%", "review.accepted_unedited", lambda r: 0.60, ">="),
    ("robust training recovers >= 75% of the gap", "training.gap_recovered", lambda r: 0.75, ">="),
    ("scoring <= 1.3x the forward pass", "speed.score_to_forward", lambda r: 1.3, "<="),
)


def _held_to_targets(r: dict) -> bool:
    """Synthetic noise at alpha = 0.5 (any noise types): the runs the targets are stated for."""
    return r.get("noise.source", "synthetic") == "synthetic" and r.get("noise.fraction") == 0.5


def targets_table(runs: list[dict]) -> str:
    """Each protocol target for each synthetic run at noise 0.5 (protocol types, the realistic
    mixture or others): required, measured, met or missed and by how much."""
    head = ["target", "dataset", "noise", "required", "measured", "verdict"]
    lines = [_row(head), _row(["---"] * len(head))]
    for name, key, required, sense in TARGETS:
        for r in filter(_held_to_targets, runs):
            try:
                need, got = required(r), r[key]
            except (KeyError, TypeError):
                continue
            if got is None:
                verdict = "undefined"
            else:
                met = {">=": got >= need, ">": got > need, "<=": got <= need}[sense]
                verdict = "met" if met else f"missed by {fmt(abs(need - got))}"
            where = [r["dataset"], noise_label(r)]
            lines.append(_row([name, *where, f"{sense} {fmt(need)}", fmt(got), verdict]))
    return "\n".join(lines) + "\n"
