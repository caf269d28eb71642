"""Write masks as PNG, TIFF, NIfTI or NPY, atomically (temp file + rename)."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import numpy as np

from .._atomic import atomic_write_bytes, save_npy
from ..errors import NoisyFixError

SUFFIXES = {"png": ".png", "tiff": ".tif", "nifti": ".nii.gz", "npy": ".npy"}


def ids_dtype(mask: np.ndarray):
    """uint16 for an instance project's object ids (stored as uint16), else uint8 class ids."""
    return np.uint16 if np.asarray(mask).dtype == np.uint16 else np.uint8


def scaled(mask: np.ndarray, scale: int) -> np.ndarray:
    """Class ids times ``scale`` (1, 255 or 65535) in the smallest unsigned type that holds them;
    uint16 object ids are kept as they are."""
    mask = np.asarray(mask)
    if scale == 1:
        return mask.astype(ids_dtype(mask))
    dtype = np.uint16 if scale > 255 else np.uint8
    return (mask > 0).astype(dtype) * dtype(scale)


def _png_bytes(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _tiff_bytes(arr: np.ndarray) -> bytes:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, arr, compression="zlib")
    return buf.getvalue()


def _nifti_affine(like: str | None) -> np.ndarray:
    """The source volume's affine when it is still readable, else the identity."""
    import nibabel as nib

    if like and Path(like).is_file() and str(like).lower().endswith((".nii", ".nii.gz")):
        try:
            return nib.load(str(like)).affine
        except Exception:  # noqa: BLE001 (a vanished or changed source only loses its geometry)
            return np.eye(4)
    return np.eye(4)


def _nifti_bytes(arr: np.ndarray, like: str | None, gz: bool) -> bytes:
    import nibabel as nib

    data = np.moveaxis(arr, 0, 2) if arr.ndim == 3 else arr
    dtype = ids_dtype(arr)
    img = nib.Nifti1Image(np.ascontiguousarray(data.astype(dtype)), _nifti_affine(like))
    img.header.set_data_dtype(dtype)
    raw = img.to_bytes()
    return gzip.compress(raw, mtime=0) if gz else raw


def write_mask(
    path: str | os.PathLike, mask: np.ndarray, like: dict | None = None, scale: int = 1
) -> Path:
    """Write a mask, its format chosen by the file extension.

    Parameters
    ----------
    path : path
        ``.png``, ``.tif``/``.tiff``, ``.nii``/``.nii.gz`` or ``.npy``.
    mask : ndarray
        ``(H, W)`` class ids, or ``(Z, H, W)`` for a NIfTI volume or a multi-page TIFF.
    like : dict, optional
        Source metadata of the image (``source``): a NIfTI source lends its affine.
    scale : int
        1 keeps class ids; 255 or 65535 writes a binary mask as 0/scale (PNG, TIFF).
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith((".nii", ".nii.gz")):
        data = _nifti_bytes(np.asarray(mask), (like or {}).get("source"), name.endswith(".gz"))
    elif name.endswith(".png"):
        if np.asarray(mask).ndim != 2:
            raise NoisyFixError(f"{path}: PNG holds one 2D mask, got shape {np.shape(mask)}")
        data = _png_bytes(scaled(mask, scale))
    elif name.endswith((".tif", ".tiff")):
        data = _tiff_bytes(scaled(mask, scale))
    elif name.endswith(".npy"):
        return save_npy(path, np.asarray(mask, dtype=ids_dtype(mask)))
    else:
        raise NoisyFixError(f"{path}: unknown mask format; use .png, .tif, .nii.gz or .npy")
    return atomic_write_bytes(path, data)
