"""npe2 hooks (Qt-free): sample data, a reader for projects and medical files, a mask writer.

The dock widget contribution points straight at :class:`napari_noisyfix.gui.widget.NoisyFixWidget`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import NoisyFixError

LABEL_HINTS = ("mask", "label", "seg", "annot")
MEDICAL_FORMATS = ("nifti", "dicom")


def sample_data() -> list[tuple]:
    """Synthetic images with noisy masks (editable) and the true masks (hidden) as layers."""
    from .synth.sample import sample_layers

    images, noisy, truth = sample_layers(n=4, size=128, seed=0)
    return [
        (images, {"name": "sample image"}, "image"),
        (noisy, {"name": "noisy mask", "opacity": 0.5}, "labels"),
        (truth, {"name": "true mask", "visible": False}, "labels"),
    ]


def get_reader(path):
    """A reader for a noisyfix project folder (it holds ``project.json``), a NIfTI file, a DICOM
    file (by extension, or by its 128-byte preamble and ``DICM`` prefix when it has none) or a
    DICOM series folder; None for anything else (napari then offers its other readers)."""
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    path = Path(os.fspath(path))
    if (path / "project.json").is_file():
        return read_project
    if path.is_dir():
        return read_medical if _holds_dicom(path) else None
    return read_medical if path.is_file() and _format(path) in MEDICAL_FORMATS else None


def _format(path: Path) -> str | None:
    """A file's image format (None when it is not one, or cannot be looked at)."""
    from .io.formats import detect_format

    try:
        return detect_format(path)
    except NoisyFixError:
        return None


def _holds_dicom(folder: Path) -> bool:
    """Whether a folder is a DICOM series: some visible regular file in it is DICOM."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return False
    files = (p for p in entries if not p.name.startswith(".") and p.is_file())
    return any(_format(p) == "dicom" for p in files)


def read_project(path) -> list[tuple]:
    """A project's images and working masks as one image stack and one labels stack.

    The project is opened read-only: viewing takes no lock and writes nothing.
    """
    from .gui.layers import canvas_of, project_stacks
    from .project import Project

    project = Project.open(path[0] if isinstance(path, (list, tuple)) else path, mode="read")
    canvas = canvas_of(tuple(project.entry(n)["shape"]) for n in project.names)
    images, masks = project_stacks(project, canvas)  # read as shown; masks: an instance's ids
    meta = {"project": str(project.root), "names": project.names}
    rgb = images.ndim == 4
    return [
        (images, {"name": "image", "rgb": rgb, "metadata": meta}, "image"),
        (masks, {"name": "working mask", "metadata": meta}, "labels"),
    ]


def read_medical(path) -> list[tuple]:
    """A NIfTI or DICOM file: a mask (by its name: mask, label, seg) as labels, else an image."""
    from .io import read_image, read_mask

    path = Path(path[0] if isinstance(path, (list, tuple)) else path)
    name = path.name.lower()
    if any(h in name for h in LABEL_HINTS):
        return [(read_mask(path), {"name": path.name}, "labels")]
    array, meta = read_image(path)
    return [(array, {"name": path.name, "metadata": meta}, "image")]


def write_labels(path: str, data, attributes: dict) -> list[str]:
    """Write a labels layer as a mask file (PNG 2D; TIFF or NIfTI 2D or 3D), by extension."""
    from .io import write_mask

    data = np.asarray(data)
    if data.size and (data.min() < 0 or data.max() > 254):
        raise NoisyFixError(
            f"{path}: labels {data.min()}..{data.max()} do not fit class ids 0..254"
        )
    like = attributes.get("metadata", {}) if isinstance(attributes, dict) else {}
    return [str(write_mask(path, data.astype(np.uint8), like=like))]
