"""Read images and masks from PNG, JPEG, TIFF, NIfTI and DICOM into project arrays.

Images: gray ``(H, W)`` or RGB ``(H, W, 3)``; uint8 and uint16 kept, other integers as uint16
when they fit, else float32; alpha channels dropped. Masks: one channel of class ids (uint8);
binary masks stored as 0/255 (or 0/65535) become 0/1; RGB masks whose channels are equal are
accepted, colour masks are refused. Volumes (NIfTI, DICOM series, multi-page TIFF, folders of
slices) come back as stacks ``(Z, H, W[, 3])``. Every failure is a :class:`NoisyFixError`
naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import NoisyFixError
from .formats import detect_format
from .loaders import Raw, load_dicom_file, load_folder, load_nifti, load_pil, load_tiff

MAX_CLASS = 254


def load_raw(path: str | os.PathLike, for_mask: bool = False) -> Raw:
    """Pixels of a file or folder as stored, any reading failure named with the file."""
    path = Path(path)
    fmt = detect_format(path)
    if fmt is None:
        raise NoisyFixError(f"{path}: not a supported image file (PNG, JPEG, TIFF, NIfTI, DICOM)")
    try:
        return _dispatch(path, fmt, for_mask)
    except NoisyFixError:
        raise
    except MemoryError as exc:
        raise NoisyFixError(f"{path}: too large to read into memory") from exc
    except Exception as exc:  # every library raises its own types for corrupt files
        raise NoisyFixError(
            f"{path}: unreadable or corrupt {fmt} file ({type(exc).__name__}: {exc})"
        ) from exc


def _dispatch(path: Path, fmt: str, for_mask: bool) -> Raw:
    if fmt in ("png", "jpeg"):
        return Raw(load_pil(path, palette_indices=for_mask), False, fmt)
    if fmt == "tiff":
        return load_tiff(path)
    if fmt == "nifti":
        return load_nifti(path)
    if fmt == "dicom":
        return load_dicom_file(path)
    return load_folder(path, lambda f: _single(load_raw(f, for_mask), f))


def _single(raw: Raw, path: Path) -> np.ndarray:
    if raw.volume:
        raise NoisyFixError(f"{path}: a stack inside a folder of slices is not supported")
    return raw.array


def to_image(raw: Raw, where) -> np.ndarray:
    """Image pixels: gray or RGB, uint8 / uint16 / float32."""
    arr = raw.array
    if raw.has_channels:
        channels = arr.shape[-1]
        if channels not in (1, 2, 3, 4):
            raise NoisyFixError(f"{where}: {channels} channels; expected gray or RGB")
        arr = arr[..., :3] if channels == 4 else arr[..., 0] if channels < 3 else arr
    return _image_dtype(np.asarray(arr), where)


def _image_dtype(arr: np.ndarray, where) -> np.ndarray:
    if arr.dtype.kind == "b":
        return arr.astype(np.uint8)
    if arr.dtype in (np.uint8, np.uint16, np.float32):
        out = arr
    elif arr.dtype.kind in "iu" and arr.size and arr.min() >= 0 and arr.max() <= 65535:
        out = arr.astype(np.uint8 if arr.max() <= 255 and arr.itemsize == 1 else np.uint16)
    elif arr.dtype.kind in "iuf":
        out = arr.astype(np.float32)
    else:
        raise NoisyFixError(f"{where}: pixel type {arr.dtype} is not supported")
    if out.dtype.kind == "f" and not np.all(np.isfinite(out)):
        raise NoisyFixError(f"{where}: image holds NaN or infinite values")
    return out


def to_mask(raw: Raw, where) -> tuple[np.ndarray, int]:
    """Mask class ids (uint8) and the scale binary masks were stored with (1, 255 or 65535)."""
    arr = np.asarray(raw.array)
    if raw.has_channels:
        arr = _gray_mask(arr, where)
    if arr.dtype.kind == "b":
        return arr.astype(np.uint8), 1
    if arr.dtype.kind not in "iuf":
        raise NoisyFixError(f"{where}: mask pixel type {arr.dtype} is not supported")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr) & (arr == np.round(arr))):
        raise NoisyFixError(f"{where}: mask holds non-integer values; expected class ids")
    if arr.size and arr.min() < 0:
        raise NoisyFixError(f"{where}: mask holds negative values; expected class ids")
    top = int(arr.max()) if arr.size else 0
    if top in (255, 65535) and not np.any((arr != 0) & (arr != top)):
        return (arr > 0).astype(np.uint8), top
    if top > MAX_CLASS:
        values = np.unique(arr)
        raise NoisyFixError(
            f"{where}: mask holds {values.size} distinct values up to {top}; expected binary "
            f"(0/1, 0/255) or class ids 0..{MAX_CLASS} (too many classes)"
        )
    return arr.astype(np.uint8), 1


def _gray_mask(arr: np.ndarray, where) -> np.ndarray:
    channels = arr.shape[-1]
    if channels in (2, 4):
        arr = arr[..., : channels - 1]
    if not np.all(arr == arr[..., :1]):
        raise NoisyFixError(
            f"{where}: colour mask (its channels differ); save masks as one channel of class ids"
        )
    return arr[..., 0]


def read_image(path: str | os.PathLike) -> tuple[np.ndarray, dict]:
    """Read an image file or series folder.

    Returns
    -------
    array : ndarray
        ``(H, W)`` or ``(H, W, 3)``; a volume gives ``(Z, H, W[, 3])``.
    meta : dict
        ``source`` (absolute path), ``source_format``, ``volume`` (bool) and format extras
        (``patient_id`` for DICOM, ``files`` for series folders).
    """
    raw = load_raw(path)
    meta = {
        "source": str(Path(path).resolve()),
        "source_format": raw.fmt,
        "volume": raw.volume,
        **raw.extra,
    }
    return to_image(raw, path), meta


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a mask file or folder as uint8 class ids (``(H, W)`` or ``(Z, H, W)``)."""
    return to_mask(load_raw(path, for_mask=True), path)[0]
