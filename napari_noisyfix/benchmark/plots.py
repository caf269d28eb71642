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
