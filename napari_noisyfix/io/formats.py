"""File formats: recognising a file or folder, its stem, and a guard against absurd sizes."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import NoisyFixError

MAX_PIXELS = 2**28
EXTENSIONS = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".nii": "nifti",
    ".nii.gz": "nifti",
    ".dcm": "dicom",
    ".dicom": "dicom",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9._\-]")


def _extension(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def is_dicom_file(path: Path) -> bool:
    """Whether a file starts with the DICOM preamble and ``DICM`` prefix."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:] == b"DICM"


def detect_format(path: str | Path) -> str | None:
    """Format of a file (png, jpeg, tiff, nifti, dicom), ``"folder"`` for a folder, else None.

    Files without an extension count as DICOM when they carry the DICOM prefix; other
    extensions (text, CSV, ...) are not image files and give None.
    """
    path = Path(path)
    if path.name.startswith("."):
        return None
    if path.is_dir():
        return "folder"
    ext = _extension(path)
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    if ext == "" and is_dicom_file(path):
        return "dicom"
    return None


def stem(path: str | Path) -> str:
    """File name without its image extension (``a.nii.gz`` -> ``a``); a folder's own name."""
    path = Path(path)
    ext = _extension(path)
    if path.is_dir() or ext not in EXTENSIONS:
        return path.name
    return path.name[: -len(ext)]


def safe_name(name: str) -> str:
    """An image name the project accepts: characters outside ``[A-Za-z0-9._-]`` become ``_``."""
    out = _UNSAFE.sub("_", name)
    return "_" + out[1:] if out.startswith(".") else out


def check_pixels(path: str | Path, shape) -> None:
    """Refuse sizes that are empty, negative or above :data:`MAX_PIXELS` before allocating."""
    dims = [int(d) for d in shape]
    if not dims or any(d <= 0 for d in dims):
        raise NoisyFixError(f"{path}: invalid image dimensions {tuple(dims)}")
    total = 1
    for d in dims:
        total *= d
    if total > MAX_PIXELS:
        raise NoisyFixError(
            f"{path}: image of {total} values {tuple(dims)} exceeds the limit of {MAX_PIXELS}"
        )
