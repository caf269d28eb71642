"""PNG plots of the report (matplotlib, Agg backend: no display needed).

Each function draws one figure from plain data, saves it to ``path`` and returns the path.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import ndimage  # noqa: E402


def save_figure(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_curves(histories: dict[str, dict[str, list[float]]], path: Path) -> Path:
    """Train (solid) and validation (dashed) curves per fold: one panel per quantity.

    Parameters
    ----------
    histories : dict
        ``{fold label: {"train_loss": [...], "val_loss": [...], "train_dice": [...], ...}}``.
    """
    quantities = sorted(
        {k.split("_", 1)[1] for h in histories.values() for k in h if "_" in k} & {"loss", "dice"}
    ) or ["loss"]
    fig, axes = plt.subplots(1, len(quantities), figsize=(5 * len(quantities), 3.6), squeeze=False)
    colors = plt.cm.tab10(np.linspace(0, 1, 10))
    for ax, q in zip(axes[0], quantities, strict=True):
        for i, (label, h) in enumerate(histories.items()):
            for part, style in (("train", "-"), ("val", "--")):
                values = h.get(f"{part}_{q}")
                if values:
                    ax.plot(
                        np.arange(1, len(values) + 1),
                        values,
                        style,
                        color=colors[i % 10],
                        label=f"{label} {part}",
                    )
        ax.set_xlabel("epoch")
        ax.set_ylabel(q)
        ax.set_title(f"{q}: train (solid) vs validation (dashed)")
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_distributions(groups: dict[str, list[dict]], metrics: list[str], path: Path) -> Path:
    """Box plots of per-image metrics, one panel per metric, one box per group."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        data = [[row[metric] for row in rows if metric in row] for rows in groups.values()]
        ax.boxplot(data, showmeans=True)
        ax.set_xticks(np.arange(1, len(groups) + 1), list(groups), rotation=20, fontsize=8)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(metric)
    return save_figure(fig, path)


def plot_histogram(values: np.ndarray, path: Path, xlabel: str, title: str) -> Path:
    """A histogram of ``values`` (e.g. image label-quality scores)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    ax.hist(
        np.asarray(values, dtype=float), bins=min(30, max(5, len(values) // 2)), color="#4477aa"
    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.set_title(title)
    return save_figure(fig, path)


def plot_review_progress(events: list[dict], path: Path) -> Path:
    """Cumulative review actions over time, one line per action kind.

    Parameters
    ----------
    events : list of dict
        ``{"minutes": float, "action": str, "pixels": int}`` in time order.
    """
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.4))
    minutes = np.array([e["minutes"] for e in events], dtype=float)
    for action in sorted({e["action"] for e in events}):
        sel = np.array([e["action"] == action for e in events])
        ax1.step(minutes[sel], np.arange(1, sel.sum() + 1), where="post", label=action)
    ax1.set_xlabel("minutes since the first review action")
    ax1.set_ylabel("actions (cumulative)")
    ax1.legend(fontsize=8)
    ax2.step(minutes, np.cumsum([e["pixels"] for e in events]), where="post", color="#aa3377")
    ax2.set_xlabel("minutes since the first review action")
    ax2.set_ylabel("pixels changed (cumulative)")
    return save_figure(fig, path)


def _gray(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, dtype=float)
    lo, hi = np.percentile(image, (1, 99))
    return np.clip((image - lo) / (hi - lo + 1e-9), 0, 1)


def _outline(mask: np.ndarray) -> np.ndarray:
    fg = np.asarray(mask) > 0
    return fg & ~ndimage.binary_erosion(fg)


def plot_examples(examples: list[dict], path: Path) -> Path:
    """Before/after overlays: image with the original (left) and corrected (right) mask outlines.

    Parameters
    ----------
    examples : list of dict
        ``{"name", "image", "before", "after"}`` crops (image (H, W) or (H, W, 3)).
    """
    fig, axes = plt.subplots(len(examples), 2, figsize=(6.4, 3.1 * len(examples)), squeeze=False)
    for row, ex in zip(axes, examples, strict=True):
        for ax, key, color in ((row[0], "before", (1, 0.2, 0.2)), (row[1], "after", (0.2, 1, 0.2))):
            rgb = _gray(ex["image"])
            rgb = np.repeat(rgb[..., None], 3, axis=2) if rgb.ndim == 2 else rgb.copy()
            rgb[_outline(ex[key])] = color
            ax.imshow(rgb, interpolation="nearest")
            ax.set_title(f"{ex['name']}: {key}", fontsize=8)
            ax.axis("off")
    return save_figure(fig, path)
