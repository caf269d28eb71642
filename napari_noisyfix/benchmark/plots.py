"""Benchmark plots: label Dice against review actions per image, and pixel PR curves."""

from __future__ import annotations

from pathlib import Path

from ..report.plots import plt, save_figure

COLORS = {"noisyfix": "#228833", "random": "#bbbbbb", "cleanlab": "#4477aa", "oracle": "#000000"}


def plot_review_curves(curves: dict[str, dict[float, float]], before: float, path: Path) -> Path:
    """``curves[method][actions per image] = label Dice``; the noisy start drawn at 0."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for method, points in curves.items():
        xs = [0.0, *sorted(points)]
        ys = [before, *(points[x] for x in sorted(points))]
        style = "o--" if method == "oracle" else "o-"  # the reference, not a competitor
        ax.plot(xs, ys, style, color=COLORS.get(method), label=method)
    ax.axhline(1.0, color="k", lw=0.5)
    ax.set_xlim(0, 1)
    ax.set_xlabel("review actions per image")
    ax.set_ylabel("label Dice vs expert masks")
    ax.legend()
    return save_figure(fig, path)


def plot_pr_curves(curves: dict[str, tuple], errors_share: float, path: Path) -> Path:
    """``curves[method] = (recall, precision)`` of the pixel error score."""
    fig, ax = plt.subplots(figsize=(5, 4))
    for method, (recall, precision) in curves.items():
        ax.plot(recall, precision, color=COLORS.get(method), label=method)
    ax.axhline(errors_share, color="k", lw=0.5, ls=":", label="chance")
    ax.set_xlabel("recall (error pixels)")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend()
    return save_figure(fig, path)


def plot_loop(curve: dict, no_retrain: dict | None, first_queue: int, out: Path) -> Path:
    """Measure 5: label Dice and test Dice over the rounds, against no retraining and a full
    retrain (``no_retrain``: measure 2's walk of the first queue, never refreshed)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    shares = curve["reviewed"]
    left.plot(shares, curve["label_dice"], "o-", color=COLORS["noisyfix"], label="with updates")
    if no_retrain is not None and first_queue:
        trace = [no_retrain["dice_before"], *no_retrain["trace"]]
        xs = [i / first_queue for i in range(len(trace))]
        keep = [i for i, x in enumerate(xs) if x <= shares[-1] + 1e-9]
        left.plot(
            [xs[i] for i in keep],
            [trace[i] for i in keep],
            "-",
            color="#bbbbbb",
            label="first queue, no retrain",
        )
    left.set_xlabel("share of the first queue reviewed")
    left.set_ylabel("label Dice vs expert masks")
    left.legend()
    rounds = list(range(1, len(shares)))
    start = curve["test"]["before"][:1] * len(rounds)  # the first model, never retrained
    right.plot(rounds, start, "--", color="#bbbbbb", label="no retrain")
    for arm, style, color, label in (
        ("before", "o:", "#bbbbbb", "at the start of the round"),
        ("after", "o-", COLORS["noisyfix"], "after the update"),
        ("full", "s:", COLORS["oracle"], "full retrain"),
    ):
        right.plot(rounds, curve["test"][arm], style, color=color, label=label)
    right.set_xticks(rounds)
    right.set_xlabel("round")
    right.set_ylabel("test Dice (held-out patients)")
    right.legend()
    return save_figure(fig, out / "plots" / "loop.png")
