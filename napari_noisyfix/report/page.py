"""Assemble the report folder: ``PROJECT/reports/<timestamp>/index.html`` with its PNG plots and
the cross-validation results as ``cv.json`` (so ``--report-only`` can redraw them later)."""

from __future__ import annotations

import html
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from .._atomic import read_json, write_json
from ..evaluate import METRICS
from . import data, plots

STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:right}th{background:#f0f0f0}img{max-width:100%;border:1px solid #ddd}
p.note{color:#666}p.warning{background:#fff3cd;border:1px solid #e0b000;padding:0.5em}"""


def latest_report(project) -> Path | None:
    """``index.html`` of the newest report of the project (None before the first)."""
    found = sorted((project.root / "reports").glob("[0-9]*/index.html"))
    return found[-1] if found else None


def latest_cv(project) -> dict:
    """Cross-validation results of the newest report that has them (``{}`` when none)."""
    for folder in sorted((project.root / "reports").glob("[0-9]*"), reverse=True):
        if (folder / "cv.json").is_file():
            return read_json(folder / "cv.json")
    return {}


def write_report(project, cv: dict | None = None) -> Path:
    """Write the report and return the path of its ``index.html``.

    Parameters
    ----------
    project : Project
        The project reported on.
    cv : dict, optional
        ``{split: cross_validate result}`` (``"patient"`` and optionally ``"image"``).
    """
    cv = cv or {}
    base = project.root / "reports"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    final = base / stamp
    k = 1
    while final.exists():
        k += 1
        final = base / f"{stamp}-{k}"
    tmp = base / f".{final.name}.writing"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        sections = _sections(project, cv, tmp)
        if cv:
            write_json(tmp / "cv.json", cv)
        page = _page(project, sections, final.name)
        (tmp / "index.html").write_text(page, encoding="utf-8")
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final / "index.html"


def _sections(project, cv: dict, out: Path) -> list[tuple[str, str]]:
    return [
        ("Cross-validation", _cv_section(cv, out)),
        ("Training curves (overfitting check)", _curves_section(project, cv, out)),
        ("Label quality", _quality_section(project, out)),
        ("Review progress", _review_section(project, out)),
        ("Corrected regions: before / after", _examples_section(project, out)),
    ]


def _img(path: Path, alt: str) -> str:
    return f'<img src="{html.escape(path.name)}" alt="{html.escape(alt)}">'


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def _cv_section(cv: dict, out: Path) -> str:
    if not cv:
        return _note("No cross-validation in this report (run `noisyfix evaluate PROJECT`).")
    parts = []
    for split, result in cv.items():
        parts.append(
            f"<h3>{html.escape(split)}-level split, {result['k']} folds, against "
            f"{html.escape(result['against'])}</h3>" + _summary_table(result)
        )
    groups = {f"{split} split": result["per_image"] for split, result in cv.items()}
    metrics = [m for m in METRICS if any(m in r for rows in groups.values() for r in rows)]
    png = plots.plot_distributions(groups, metrics, out / "metric_distributions.png")
    parts.append("<p>Per-image metrics of the held-out predictions:</p>" + _img(png, "metrics"))
    return "\n".join(parts)


def _summary_table(result: dict) -> str:
    head = "<tr><th>fold</th>" + "".join(f"<th>{m}</th>" for m in METRICS) + "</tr>"
    rows = []
    for fold in result["folds"]:
        cells = "".join(f"<td>{fold['summary'][m]['mean']:.3f}</td>" for m in METRICS)
        rows.append(f"<tr><td>{fold['fold'] + 1} (n={len(fold['val'])})</td>{cells}</tr>")
    s = result["summary"]
    cells = "".join(f"<td>{s[m]['mean']:.3f} ± {s[m]['sd']:.3f}</td>" for m in METRICS)
    rows.append(f"<tr><th>mean ± sd over folds</th>{cells}</tr>")
    return "<table>" + head + "".join(rows) + "</table>"


def _curves_section(project, cv: dict, out: Path) -> str:
    histories = {}
    for split, result in cv.items():
        for fold in result["folds"]:
            series = data.history_series(fold.get("history") or {})
            if series:
                histories[f"{split} fold {fold['fold'] + 1}"] = series
    source = "cross-validation folds"
    if not histories:
        series = data.model_history(project)
        histories = {"newest model": series} if series else {}
        source = "the newest model"
    if not histories:
        return _note("No training history yet (train a model first).")
    png = plots.plot_curves(histories, out / "training_curves.png")
    return f"<p>Per-epoch curves of {source}.</p>" + _img(png, "training curves")


def _quality_section(project, out: Path) -> str:
    parts = []
    verdict = data.calibration_verdict(project)
    if verdict is not None:
        parts.append(f"<p>{html.escape(verdict.text())}</p>")
        if verdict.warning:
            parts.append(f'<p class="warning">{html.escape(verdict.warning)}</p>')
    values = data.estimated_dice(project)
    if values is not None:
        png = plots.plot_histogram(
            values, out / "label_quality.png", "estimated Dice of the mask", "Estimated mask Dice"
        )
        parts.append(_img(png, "estimated mask Dice histogram"))
    else:
        parts.append(_note("No label-quality scores yet (run `noisyfix score PROJECT`)."))
    groups = data.label_metrics(project)
    if groups:
        png = plots.plot_distributions(groups, ["dice", "iou"], out / "labels_vs_truth.png")
        parts.append("<p>Labels against the true masks:</p>" + _img(png, "labels vs truth"))
    return "\n".join(parts)


def _review_section(project, out: Path) -> str:
    events = data.review_events(project)
    if not events:
        return _note("No review actions in the audit log yet.")
    png = plots.plot_review_progress(events, out / "review_progress.png")
    return f"<p>{len(events)} review actions.</p>" + _img(png, "review progress")


def _examples_section(project, out: Path) -> str:
    examples = data.corrected_examples(project)
    if not examples:
        return _note("No corrected masks yet.")
    png = plots.plot_examples(examples, out / "corrections.png")
    return _note("Red: original mask outline. Green: corrected outline.") + _img(png, "corrections")


def _page(project, sections: list[tuple[str, str]], stamp: str) -> str:
    title = f"noisyfix report: {project.config.get('name', project.root.name)}"
    body = "\n".join(f"<h2>{html.escape(t)}</h2>\n{content}" for t, content in sections)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{len(project.names)} images, {project.n_classes} classes; written {stamp} UTC.</p>"
        f"{body}</body></html>\n"
    )
