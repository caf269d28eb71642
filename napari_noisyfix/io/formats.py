"""File formats: recognising a file or folder, its stem, and guards against hostile files.

Two guards run before anything is decoded: :func:`detect_format` refuses what is not a regular
file or folder (a FIFO would block the reader forever, a device would stream without end), and
:func:`check_pixels` refuses images whose header promises more bytes than the cap
(:data:`ENV_MAX_BYTES`, default :data:`DEFAULT_MAX_BYTES`).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from ..errors import NoisyFixError
from ..faults import os_problem

#: Decoded size above which an image is refused unless the user raises the cap.
DEFAULT_MAX_BYTES = 1 << 30
ENV_MAX_BYTES = "NOISYFIX_MAX_IMAGE_BYTES"
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_KINDS = {
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISSOCK: "a socket",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
}
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


def _maybe_dicom(ext: str) -> bool:
    """Whether a name may hide a DICOM file: no extension, or a number after the last dot (UID
    file names such as ``1.2.840.113619.2.5``)."""
    return ext == "" or ext[1:].isdigit()


def is_dicom_file(path: Path) -> bool:
    """Whether a file starts with the DICOM preamble and ``DICM`` prefix."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:] == b"DICM"


def file_kind(path: str | Path) -> str:
    """``"folder"``, ``"file"`` (regular) or what else ``path`` is, in words (a FIFO...).

    Raises
    ------
    NoisyFixError
        When ``path`` cannot be looked at (missing, a broken link, permission denied).
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise NoisyFixError(f"{path}: {os_problem(exc)}") from exc
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISREG(mode):
        return "file"
    return next((words for test, words in _KINDS.items() if test(mode)), "not a regular file")


def check_regular(path: str | Path) -> Path:
    """Refuse anything but a regular file (a FIFO or device would block or never end)."""
    kind = file_kind(path)
    if kind != "file":
        raise NoisyFixError(f"{path}: is {kind}, not a regular file; give a regular file")
    return Path(path)


def detect_format(path: str | Path) -> str | None:
    """Format of a file (png, jpeg, tiff, nifti, dicom), ``"folder"`` for a folder, else None.

    Files without an extension, or whose name ends in a number after a dot (DICOM UIDs), count as
    DICOM when they carry the 128-byte preamble and the ``DICM`` prefix; other extensions (text,
    CSV, ...) are not image files and give None. An image name (or such a DICOM-like name) on a
    FIFO, socket or device is refused: reading it would block.
    """
    path = Path(path)
    if path.name.startswith("."):
        return None
    ext = _extension(path)
    image_name = ext in EXTENSIONS or _maybe_dicom(ext)
    try:
        kind = file_kind(path)
    except NoisyFixError:
        if image_name:
            raise
        return None
    if kind == "folder":
        return "folder"
    if not image_name:
        return None
    if kind != "file":
        raise NoisyFixError(f"{path}: is {kind}, not a regular file; give a regular image file")
    return EXTENSIONS[ext] if ext in EXTENSIONS else "dicom" if is_dicom_file(path) else None


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


def max_image_bytes() -> int:
    """The cap on an image's decoded size: :data:`ENV_MAX_BYTES` (``4G``, ``500M``...) or 1 GiB."""
    raw = os.environ.get(ENV_MAX_BYTES, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    match = _SIZE.match(raw)
    if match is None or float(match[1]) <= 0:
        raise NoisyFixError(
            f"{ENV_MAX_BYTES}={raw!r}: expected a number of bytes, e.g. 4000000000 or 4G"
        )
    return int(float(match[1]) * _UNITS[match[2].lower()])


def human_bytes(n: int) -> str:
    """``n`` bytes in binary units, one decimal (``2.0 GiB``)."""
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


def check_pixels(path: str | Path, shape, itemsize: int = 1) -> int:
    """Refuse, before decoding, dimensions that are empty or negative or too many bytes.

    Parameters
    ----------
    path : path
        Named in the message.
    shape : sequence of int
        Dimensions the header announces (channels and frames included).
    itemsize : int
        Bytes per value once decoded.

    Returns
    -------
    int
        The decoded size in bytes.
    """
    dims = [int(d) for d in shape]
    if not dims or any(d <= 0 for d in dims):
        raise NoisyFixError(f"{path}: invalid image dimensions {tuple(dims)}")
    total = max(1, int(itemsize))
    for d in dims:
        total *= d
    cap = max_image_bytes()
    if total > cap:
        raise NoisyFixError(
            f"{path}: decodes to {human_bytes(total)}, over the {human_bytes(cap)} limit "
            f"(set {ENV_MAX_BYTES} to raise it)"
        )
    return total
