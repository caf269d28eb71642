"""Build a project from a folder of images and a folder of masks (``noisyfix import``)."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from .._folders import check_apart, check_replaceable
from ..errors import NoisyFixError
from ..project import CONFIG, Project, is_project
from .formats import check_regular, safe_name, stem
from .pairs import ImagePair, read_label_pairs


def _aliases(pairs: list[ImagePair]) -> dict[str, list[str]]:
    """Every way a table may name an image: its name, its source file name and stem."""
    out: dict[str, list[str]] = {}
    for p in pairs:
        source = Path(p.source["source"])
        for key in {p.name, source.name, stem(source), safe_name(stem(source))}:
            out.setdefault(key, []).append(p.name)
    return out


def _resolve(key: str, aliases: dict[str, list[str]], where: str) -> list[str]:
    key = key.strip()
    if key not in aliases:
        raise NoisyFixError(f"{where}: {key!r} matches no imported image")
    return aliases[key]


def read_patient_table(path: str | os.PathLike, pairs: list[ImagePair]) -> dict[str, str]:
    """Patient id per image name from a CSV with columns ``image`` and ``patient``.

    Image names match with or without extension; a volume's file name assigns all its slices.
    Images the table does not name keep their default patient.
    """
    path = check_regular(path)
    aliases = _aliases(pairs)
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise NoisyFixError(f"{path}: unreadable patient table ({exc})") from exc
    if not rows or not {"image", "patient"} <= {c.strip().lower() for c in rows[0] if c}:
        raise NoisyFixError(f"{path}: patient table needs a header with columns image,patient")
    patients: dict[str, str] = {}
    for i, row in enumerate(rows, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        if not row["image"] or not row["patient"]:
            raise NoisyFixError(f"{path}, line {i}: empty image or patient")
        for name in _resolve(row["image"], aliases, f"{path}, line {i}"):
            patients[name] = row["patient"]
    return patients


def resolve_clean(clean, pairs: list[ImagePair]) -> set[str]:
    """Image names of a clean list given by names, file names or volume stems."""
    aliases = _aliases(pairs)
    return {n for key in clean or () for n in _resolve(str(key), aliases, "clean list")}


def _check_channels(pairs: list[ImagePair]) -> None:
    first = pairs[0]
    for p in pairs[1:]:
        if (p.image.ndim == 3) != (first.image.ndim == 3):
            raise NoisyFixError(
                f"{p.source['source']}: {'RGB' if p.image.ndim == 3 else 'gray'} image among "
                f"{'RGB' if first.image.ndim == 3 else 'gray'} ones; import them as separate projects"
            )


def import_project(
    images_dir: str | os.PathLike,
    masks_dir: str | os.PathLike,
    project_dir: str | os.PathLike,
    patients_csv: str | os.PathLike | None = None,
    clean=None,
    force: bool = False,
    protect=(),
    labels: str = "semantic",
    channel_axis=None,
) -> Project:
    """Create a project from images and masks paired by file name.

    Parameters
    ----------
    images_dir, masks_dir : path
        Folders of images and masks (PNG, JPEG, TIFF, NIfTI, DICOM files or series folders). A
        mask is named like its image, optionally with a mask suffix (``a_mask.png``,
        ``a_masks.png``, ``a_labels.tif``, ``a_seg.npy``...: :mod:`.mask_names`); a data folder
        holding ``images/`` and ``masks/`` gives both through :func:`.pairs.data_folders`.
    project_dir : path
        Project folder to create; must not exist unless ``force``.
    patients_csv : path, optional
        CSV with columns ``image,patient``; without it each 2D image (or volume) is its own patient.
    clean : iterable of str, optional
        Names (with or without extension, or volume names) of images whose masks are trusted.
    force : bool
        Replace an existing project folder; only a noisyfix project (with its ``project.json``)
        or an empty folder is replaced.
    protect : iterable of path
        More input files that the project folder must stay apart from (a clean-list file).
    labels : {"semantic", "instance", "auto"}
        How to read mask values: class ids, object ids (an instance project), or decided from
        the masks (:func:`~napari_noisyfix.instance_labels.decide`); the decision and why are
        recorded in ``project.json`` (``import.labels``, ``import.labels_why``).
    channel_axis : int or "none", optional
        The axis of the TIFF images that holds channels (``--channel-axis``); by default the
        file's own axes decide, else the shape, and a shape that could be channels or slices is
        refused in one line.

    Returns
    -------
    Project
        The new project. Everything is read and checked before anything is written, and
        :meth:`Project.create` builds the folder in a temporary place, so a failure leaves nothing.

    Raises
    ------
    NoisyFixError
        Also when the project folder is, contains or lies inside an input (images, masks, the
        patient table, ``protect``), whether or not ``force`` is given.
    """
    project_dir = Path(project_dir)
    check_apart(
        project_dir, _inputs(images_dir, masks_dir, patients_csv, protect), "project folder"
    )
    if project_dir.exists() and not force:
        raise NoisyFixError(
            f"{project_dir}: project path exists already (use --force to replace it)"
        )
    check_replaceable(project_dir, is_project, "project", CONFIG)
    pairs, mode, why = read_label_pairs(images_dir, masks_dir, labels, channel_axis)
    _check_channels(pairs)
    decided = {"labels": mode, "labels_why": why}
    patients = {p.name: p.patient for p in pairs}
    if patients_csv is not None:
        patients.update(read_patient_table(patients_csv, pairs))
    project = Project.create(
        project_dir,
        {p.name: p.image for p in pairs},
        {p.name: p.mask for p in pairs},
        patients=patients,
        clean=resolve_clean(clean, pairs),
        sources={p.name: p.source for p in pairs},
        extra={"import": {**_import_record(pairs, images_dir, masks_dir), **decided}},
        force=force,
        labels=mode,
    )
    return project


def _inputs(images_dir, masks_dir, patients_csv, protect) -> list[tuple[str, Path]]:
    """What the project folder must stay apart from."""
    inputs = [("images folder", Path(images_dir)), ("masks folder", Path(masks_dir))]
    if patients_csv is not None:
        inputs.append(("patient table", Path(patients_csv)))
    return inputs + [("input file", Path(p)) for p in protect]


def _import_record(pairs: list[ImagePair], images_dir, masks_dir) -> dict:
    """What export needs to write masks back like the input: folders, mask files, scale."""
    binary = all(int(p.mask.max(initial=0)) <= 1 for p in pairs)
    return {
        "images_dir": str(Path(images_dir).resolve()),
        "masks_dir": str(Path(masks_dir).resolve()),
        "mask_scale": max(p.mask_scale for p in pairs) if binary else 1,
        "mask_sources": {p.name: p.mask_source for p in pairs},
    }
