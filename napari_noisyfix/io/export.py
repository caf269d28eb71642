"""Export a project: cleaned masks in the input's format, the review log as CSV, the newest model.

Output folder::

    OUT/
      masks/          one file per 2D image (PNG/TIFF/NPY) or per volume (NIfTI, multi-page TIFF)
      review_log.csv  every audit-log event (time, event, reviewer, image, region, action, ...)
      model/          copy of the newest model version, when there is one
      EXPORT.txt      what was written and any format notes (DICOM and JPEG masks become PNG)
      .noisyfix-export  marker: ``--force`` replaces only a folder that holds it

The folder is built next to ``OUT`` under a temporary name and moved into place at the end, so
a failure or a cancelled export (the consumer stops iterating) leaves nothing half-written. The
output may not be, contain or lie inside the project or the folders it was imported from, and
the model's checkpoint is verified (SHA-256) before it is copied.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Generator
from pathlib import Path

import numpy as np

from .._atomic import atomic_write_text, read_json, write_json
from .._folders import Staging, check_apart, check_replaceable
from ..auditlog import COLUMNS
from ..errors import NoisyFixError
from ..progress import Progress
from ..project import Project
from .formats import stem
from .seg_npy import is_seg_npy, seg_stem
from .writers import SUFFIXES, write_mask

FORMATS = ("source", "png", "tiff", "nifti", "npy")
MARKER = ".noisyfix-export"
MARKER_FORMAT = "noisyfix-export-1"
_NOTES = {
    "dicom": "DICOM masks are written as PNG (one file per slice).",
    "jpeg": "JPEG is lossy: masks from JPEG inputs are written as PNG.",
    "folder": "Masks of folders of slices are written as PNG, one per slice.",
    "npy": "Images without a source file (sample data) get PNG masks.",
}


def _target(fmt: str, source_format: str, is_slice: bool) -> str:
    """Output format of one image: the requested one, or the input's for ``source``."""
    if fmt != "source":
        return fmt
    if source_format == "nifti" or (source_format == "tiff" and is_slice):
        return "volume-" + source_format
    return "tiff" if source_format == "tiff" else "png"


def _plan(project: Project, fmt: str) -> list[tuple[str, list[str], dict]]:
    """Groups of image names written to one file: ``(file name, names, source entry)``."""
    mask_sources = project.config.get("import", {}).get("mask_sources", {})
    groups: dict[str, tuple[str, list[str], dict]] = {}
    for name in project.names:
        entry = project.entry(name)
        is_slice = entry.get("slice") is not None
        target = _target(fmt, entry.get("source_format") or "npy", is_slice)
        seg = fmt == "source" and is_seg_npy(Path(mask_sources.get(name, "")))
        if seg:  # a NAME_seg.npy mask is written back as NAME_seg.npy
            target = "volume-npy" if is_slice else "npy"
        stack = is_slice and (target.startswith("volume-") or fmt == "nifti")
        kind = target.removeprefix("volume-")
        if seg:
            base = seg_stem(Path(mask_sources[name])) + SUFFIXES[kind]
        elif stack:
            base = stem(entry["source"]) + SUFFIXES[kind]
        else:
            base = (name if is_slice else stem(mask_sources.get(name, name))) + SUFFIXES[kind]
        groups.setdefault(base, (stack, [], entry))[1].append(name)
    return [(base, names, {**entry, "stack": st}) for base, (st, names, entry) in groups.items()]


def _mask_array(project: Project, names: list[str], stack: bool) -> np.ndarray:
    """The working masks as stored: class ids, or an instance project's object ids."""
    if not stack:
        return project.labels(names[0])
    ordered = sorted(names, key=lambda n: project.entry(n)["slice"])
    return np.stack([project.labels(n) for n in ordered])


def review_log_csv(project: Project) -> str:
    """The audit log as CSV text (``details`` as JSON)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in project.log.rows():
        writer.writerow({**row, "details": json.dumps(row["details"]) if row["details"] else ""})
    return buf.getvalue()


def is_export(folder: Path) -> bool:
    """Whether ``folder`` is an earlier export (it holds the marker file)."""
    try:
        marker = read_json(Path(folder) / MARKER)
    except (NoisyFixError, OSError):
        return False
    return isinstance(marker, dict) and marker.get("format") == MARKER_FORMAT


def _inputs(project: Project) -> list[tuple[str, Path]]:
    """The project and the folders its images and masks came from: the output stays apart."""
    record = project.config.get("import", {})
    inputs = [("project", project.root)]
    for key, what in (("images_dir", "images folder"), ("masks_dir", "masks folder")):
        if record.get(key):
            inputs.append((what, Path(record[key])))
    sources = {project.entry(n).get("source") for n in project.names}
    sources |= set(record.get("mask_sources", {}).values())
    parents = sorted({Path(s).parent for s in sources if s})
    return inputs + [("folder of source files", p) for p in parents]


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise NoisyFixError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise NoisyFixError(f"{out}: folder is not empty (use --force to replace it)")
    check_replaceable(out, is_export, "export", MARKER)


def _verified_model(project: Project) -> int | None:
    """The newest model version, its checkpoint verified (SHA-256) before it is copied."""
    version = project.latest_model_version()
    if version is not None:
        from ..model.checkpoints import verify_checkpoint

        try:
            verify_checkpoint(project.model_dir(version))
        except NoisyFixError as exc:
            raise NoisyFixError(f"{exc}; nothing exported") from exc
    return version


def _copy_model(src: Path, dst: Path) -> None:
    """Copy a checkpoint folder's files; a fault names the copy, not the project's file."""
    dst.mkdir()
    for path in sorted(p for p in src.iterdir() if p.is_file()):
        try:
            shutil.copy2(path, dst / path.name)
        except OSError as exc:
            if exc.errno is None:
                raise
            raise OSError(exc.errno, exc.strerror, str(dst / path.name)) from exc


def _marker(project: Project, fmt: str) -> dict:
    return {"format": MARKER_FORMAT, "project": str(project.root.resolve()), "masks": fmt}


def _notes(project: Project, fmt: str, scale: int, n_files: int, model: int | None) -> str:
    formats = {project.entry(n).get("source_format") or "npy" for n in project.names}
    lines = [
        f"Exported from {project.root} ({len(project.names)} images, {project.n_classes} classes).",
        f"masks/: {n_files} files, format '{fmt}'; values are "
        + ("object ids (uint16)" if project.is_instance else "class ids")
        + (f" (binary masks as 0/{scale} in PNG/TIFF)." if scale != 1 else "."),
        "review_log.csv: every event of the audit log.",
        f"model/: model version {model}." if model else "No model trained yet.",
    ]
    if fmt == "source":
        lines += [_NOTES[f] for f in sorted(formats) if f in _NOTES]
    return "\n".join(lines) + "\n"


def _scale(project: Project) -> int:
    recorded = project.config.get("import", {}).get("mask_scale")
    if recorded is not None:
        return int(recorded)
    return 255 if project.n_classes == 2 else 1


def export_project(
    project: Project, out_dir: str | os.PathLike, fmt: str = "source", force: bool = False
) -> Generator[Progress, None, Path]:
    """Write cleaned masks, the review log and the newest model to ``out_dir``.

    Parameters
    ----------
    project : Project
        The project; its working masks (:meth:`Project.mask`) are exported.
    out_dir : path
        Output folder; an existing non-empty folder is refused unless ``force``.
    fmt : {"source", "png", "tiff", "nifti", "npy"}
        ``source`` writes each mask like its input (PNG, TIFF, NIfTI volumes re-stacked from their
        slices; DICOM and JPEG inputs as PNG).
    force : bool
        Replace an existing output folder.

    Yields
    ------
    Progress
        One step per mask file, then the log and the model.

    Returns
    -------
    Path
        The output folder.
    """
    if fmt not in FORMATS:
        raise NoisyFixError(f"export format {fmt!r}: choose one of {', '.join(FORMATS)}")
    out = Path(out_dir)
    check_apart(out, _inputs(project), "output folder")
    _check_out(out, force)
    plan = _plan(project, fmt)
    scale = _scale(project)
    version = _verified_model(project)
    staging = Staging(out, "exporting", is_export)
    tmp = staging.path
    total = len(plan) + 2
    try:
        for i, (base, names, entry) in enumerate(plan):
            write_mask(
                tmp / "masks" / base,
                _mask_array(project, names, entry["stack"]),
                like=entry,
                scale=scale,
            )
            yield Progress("export", i + 1, total, f"masks/{base}")
        atomic_write_text(tmp / "review_log.csv", review_log_csv(project))
        yield Progress("export", len(plan) + 1, total, "review_log.csv")
        if version is not None:
            _copy_model(project.model_dir(version), tmp / "model")
        atomic_write_text(tmp / "EXPORT.txt", _notes(project, fmt, scale, len(plan), version))
        write_json(tmp / MARKER, _marker(project, fmt))
        staging.commit("export", MARKER)
    except BaseException:
        staging.abort()
        raise
    if project.writable:  # a project opened read-only is exported without an audit row
        project.log.record("export", details={"out": str(out.resolve()), "format": fmt})
    yield Progress("export", total, total, "done")
    return out
