"""What the report shows, read from the project: training histories, label-quality scores,
review events from the audit log, corrected regions, and label metrics against the truth."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from .._atomic import read_json
from ..errors import NoisyFixError
from ..evaluate import image_metrics

REVIEW_ACTIONS = ("accept", "reject", "edit", "accept_all", "undo", "redo")


def history_series(history) -> dict[str, list[float]]:
    """Per-epoch series ``{"train_loss": [...], "val_dice": [...], ...}`` from a trainer history.

    Accepts a dict of lists, a list of per-epoch dicts, or a dict holding such a list under
    ``"epochs"``; keys that are not numeric series are dropped.
    """
    if isinstance(history, dict) and isinstance(history.get("epochs"), list):
        history = history["epochs"]
    if isinstance(history, list):
        keys = {k for row in history if isinstance(row, dict) for k in row}
        history = {k: [row.get(k) for row in history] for k in keys}
    if not isinstance(history, dict):
        return {}
    out = {}
    for key, values in history.items():
        if isinstance(values, list) and values and all(_number(v) for v in values):
            out[key] = [float(v) for v in values]
    return out


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def model_history(project) -> dict[str, list[float]]:
    """Series of the newest model's ``history.json`` (empty without a model)."""
    version = project.latest_model_version()
    if version is None:
        return {}
    path = project.model_dir(version) / "history.json"
    return history_series(read_json(path)) if path.exists() else {}


def estimated_dice(project) -> np.ndarray | None:
    """Estimated Dice of each image's mask against the truth (newest scoring); None before any."""
    from ..quality.score import load_image_scores

    try:
        rows = load_image_scores(project)
    except NoisyFixError:
        return None
    return np.array([r["est_dice"] for r in rows], dtype=float)


def calibration_verdict(project):
    """The newest scoring's :class:`~napari_noisyfix.quality.verdict.Verdict`; None before any."""
    from ..quality.score import load_verdict

    try:
        return load_verdict(project)
    except NoisyFixError:
        return None


def review_events(project) -> list[dict]:
    """Review actions of the audit log: ``{"minutes", "action", "pixels"}`` in time order."""
    rows = [r for r in project.log.rows() if r["action"] in REVIEW_ACTIONS]
    if not rows:
        return []
    times = [datetime.fromisoformat(r["time"]) for r in rows]
    return [
        {
            "minutes": (t - times[0]).total_seconds() / 60.0,
            "action": r["action"],
            "pixels": int(r["pixels_changed"] or 0),
        }
        for t, r in zip(times, rows, strict=True)
    ]


def corrected_examples(project, k: int = 4, margin: int = 12) -> list[dict]:
    """Crops around the largest corrections: the ``k`` images whose working mask changed most."""
    changed = []
    for name in project.names:
        if project.has_correction(name):
            diff = project.mask(name) != project.original_mask(name)
            if diff.any():
                changed.append((int(diff.sum()), name, diff))
    out = []
    for _, name, diff in sorted(changed, key=lambda t: (-t[0], t[1]))[:k]:
        rows, cols = np.nonzero(diff)
        r0, r1 = max(rows.min() - margin, 0), rows.max() + margin + 1
        c0, c1 = max(cols.min() - margin, 0), cols.max() + margin + 1
        box = (slice(r0, r1), slice(c0, c1))
        out.append(
            {
                "name": name,
                "image": project.image(name)[box],
                "before": project.original_mask(name)[box],
                "after": project.mask(name)[box],
            }
        )
    return out


def label_metrics(project) -> dict[str, list[dict]]:
    """Per-image metrics of the original and of the working masks against the true masks.

    Empty when the project has no true masks.
    """
    if not project.has_truth():
        return {}
    names = project.config.get("class_names")
    groups: dict[str, list[dict]] = {"original labels": [], "working labels": []}
    for name in project.names:
        truth = project.truth(name)
        for label, mask in (
            ("original labels", project.original_mask(name)),
            ("working labels", project.mask(name)),
        ):
            groups[label].append(
                {"image": name, **image_metrics(mask, truth, project.n_classes, names)}
            )
    return groups
