"""Read images and masks from PNG, JPEG, TIFF, NIfTI and DICOM into project arrays.

Images: gray ``(H, W)`` or RGB ``(H, W, 3)``; uint8 and uint16 kept, other integers as uint16
when they fit, else float32; alpha channels dropped. Masks: one channel; values that are dense
class ids ``0..K-1`` (K <= 255) are kept, a binary mask (0 and one other value: 0/1, 0/128,
0/255, 0/65535...) becomes 0/1 and remembers its value as the scale to write back; anything else
is refused, saying what was found. RGB masks whose channels are equal are accepted, colour masks
are refused. Volumes (NIfTI, DICOM series, multi-page TIFF, folders of
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


def load_raw(path: str | os.PathLike, for_mask: bool = False, channel_axis=None) -> Raw:
    """Pixels of a file or folder as stored, any reading failure named with the file;
    ``channel_axis`` (``--channel-axis``) says which axis of a TIFF holds channels."""
    path = Path(path)
    fmt = detect_format(path)
    if fmt is None:
        raise NoisyFixError(f"{path}: not a supported image file (PNG, JPEG, TIFF, NIfTI, DICOM)")
    try:
        return _dispatch(path, fmt, for_mask, channel_axis)
    except NoisyFixError:
        raise
    except MemoryError as exc:
        raise NoisyFixError(
            f"{path}: out of memory reading this file (it fits the size limit but not in memory)"
        ) from exc
    except Exception as exc:  # every library raises its own types for corrupt files
        raise NoisyFixError(
            f"{path}: unreadable or corrupt {fmt} file ({type(exc).__name__}: {exc})"
        ) from exc


def _dispatch(path: Path, fmt: str, for_mask: bool, channel_axis) -> Raw:
    if fmt in ("png", "jpeg"):
        arr = load_pil(path, palette_indices=for_mask)  # 2 or 4 channels: LA or RGBA
        return Raw(arr, False, fmt, alpha=arr.ndim == 3 and arr.shape[-1] in (2, 4))
    if fmt == "tiff":
        return load_tiff(path, channel_axis)
    if fmt == "nifti":
        return load_nifti(path)
    if fmt == "dicom":
        return load_dicom_file(path)
    return load_folder(path, lambda f: _single(load_raw(f, for_mask, channel_axis), f))


def _single(raw: Raw, path: Path) -> np.ndarray:
    if raw.volume:
        raise NoisyFixError(f"{path}: a stack inside a folder of slices is not supported")
    return raw.array


def to_image(raw: Raw, where) -> np.ndarray:
    """Image pixels: gray or RGB, uint8 / uint16 / float32 (an alpha channel dropped).

    Raises
    ------
    NoisyFixError
        Other than 1 or 3 channels (besides alpha): a project holds gray or RGB images.
    """
    arr = raw.array
    if raw.has_channels:
        if raw.alpha:
            arr = arr[..., :-1]
        channels = arr.shape[-1]
        if channels not in (1, 3):
            raise NoisyFixError(
                f"{where}: {channels} channels; a project holds gray or RGB images (save one "
                "channel or three, or name the channel axis with --channel-axis)"
            )
        arr = arr[..., 0] if channels == 1 else arr
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


def mask_values(arr: np.ndarray) -> np.ndarray:
    """Distinct values of an integer-valued mask, sorted, as int64."""
    arr = np.asarray(arr)
    if arr.dtype.kind == "b" or arr.dtype in (np.uint8, np.uint16):
        return np.flatnonzero(np.bincount(arr.ravel(), minlength=1)).astype(np.int64)
    return np.unique(arr).astype(np.int64)


def describe_values(values) -> str:
    """Mask values for a message: ``{0, 1, 255}``, or the first and last of many."""
    vals = [int(v) for v in values]
    if len(vals) <= 6:
        return "{" + ", ".join(map(str, vals)) + "}"
    return "{" + ", ".join(map(str, vals[:3])) + f", ..., {vals[-1]}}} ({len(vals)} values)"


def is_dense(values: np.ndarray) -> bool:
    """Whether sorted distinct ``values`` are exactly the class ids ``0..K-1``."""
    return bool(len(values)) and values[0] == 0 and values[-1] == len(values) - 1


def neither_message(where, values) -> str:
    """The one line for mask values that are neither binary nor class ids."""
    return (
        f"{where}: mask values {describe_values(values)} are neither binary nor class ids "
        "0..K-1; give binary masks (0 and one other value) or class ids"
    )


def mask_scale(values: np.ndarray, where) -> int:
    """How a mask's distinct values encode classes: 0 for class ids, else the binary value.

    Dense class ids ``0..K-1`` (K <= 255) are kept as they are (0); 0 and one other value ``v``
    (or ``v`` alone) make a binary mask stored as 0/``v`` (returns ``v``).

    Raises
    ------
    NoisyFixError
        Too many classes, or values that are neither (``{0, 1, 255}``): says what was found.
    """
    if not len(values) or is_dense(values):
        if len(values) > MAX_CLASS + 1:
            raise NoisyFixError(
                f"{where}: mask values 0..{int(values[-1])} are {len(values)} class ids: too many "
                f"classes (at most {MAX_CLASS + 1})"
            )
        return 0
    nonzero = values[values != 0]
    if len(nonzero) == 1:
        return int(nonzero[0])
    raise NoisyFixError(neither_message(where, values))


def to_mask(raw: Raw, where) -> tuple[np.ndarray, int]:
    """Mask class ids (uint8) and the value a binary mask was stored with (1 for class ids).

    A binary mask (0 and one other value ``v``) comes back as 0/1 with scale ``v`` (up to
    65535; exports write it back as 0/``v``); dense class ids ``0..K-1`` come back as they are.
    """
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
    scale = mask_scale(mask_values(arr), where)
    if scale == 0:
        return arr.astype(np.uint8), 1
    return (arr > 0).astype(np.uint8), scale if scale <= 65535 else 1


def _gray_mask(arr: np.ndarray, where) -> np.ndarray:
    channels = arr.shape[-1]
    if channels in (2, 4):
        arr = arr[..., : channels - 1]
    if not np.all(arr == arr[..., :1]):
        raise NoisyFixError(
            f"{where}: colour mask (its channels differ); save masks as one channel of class ids"
        )
    return arr[..., 0]


def read_image(path: str | os.PathLike, channel_axis=None) -> tuple[np.ndarray, dict]:
    """Read an image file or series folder (``channel_axis``: see :func:`load_raw`).

    Returns
    -------
    array : ndarray
        ``(H, W)`` or ``(H, W, 3)``; a volume gives ``(Z, H, W[, 3])``.
    meta : dict
        ``source`` (absolute path), ``source_format``, ``volume`` (bool) and format extras
        (``patient_id`` for DICOM, ``files`` for series folders).
    """
    raw = load_raw(path, channel_axis=channel_axis)
    meta = {
        "source": str(Path(path).resolve()),
        "source_format": raw.fmt,
        "volume": raw.volume,
        **raw.extra,
    }
    return to_image(raw, path), meta


def read_mask(path: str | os.PathLike) -> np.ndarray:
    """Read a mask file or folder as uint8 class ids (``(H, W)`` or ``(Z, H, W)``).

    A file read alone cannot tell binary 0/2 from a label map holding class 2 only, so a single
    value that fits a class id keeps its id; 0/255 and 0/65535 become 0/1. (Import decides over
    all files instead: :func:`~napari_noisyfix.io.pairs.reconcile_masks`.)
    """
    mask, scale = to_mask(load_raw(path, for_mask=True), path)
    return (mask * scale).astype(np.uint8) if 1 < scale <= MAX_CLASS else mask
