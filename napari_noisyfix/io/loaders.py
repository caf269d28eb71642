"""Raw pixel loaders per format (Pillow, tifffile, nibabel, pydicom), with size checks first.

Each loader returns a :class:`Raw`: the array as stored and whether it is a stack of slices
(``(Z, H, W[, C])``) or one 2D image (``(H, W[, C])``). Conversions live in :mod:`.readers`.
Before any pixel is decoded, the size in bytes that the header announces (dimensions times
bytes per value) goes through :func:`~.formats.check_pixels`, so a small hostile file cannot
make the reader allocate gigabytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import NoisyFixError
from .formats import check_pixels, check_regular, detect_format, is_dicom_file

#: Bytes per pixel of the array Pillow gives for each mode (after the conversions below).
_PIL_BYTES = {"1": 1, "L": 1, "P": 4, "LA": 2, "RGB": 3, "RGBA": 4, "I": 4, "F": 4}


@dataclass
class Raw:
    """Pixels as stored in a file or folder."""

    array: np.ndarray
    volume: bool
    fmt: str
    extra: dict = field(default_factory=dict)
    #: The last channel is transparency (RGBA, gray + alpha), dropped from images.
    alpha: bool = False

    @property
    def has_channels(self) -> bool:
        """Whether the last axis holds colour channels."""
        return self.array.ndim == (4 if self.volume else 3)


def load_pil(path: Path, palette_indices: bool) -> np.ndarray:
    """PNG or JPEG through Pillow; palette images give indices or RGB."""
    from PIL import Image

    try:
        im = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise NoisyFixError(f"{path}: image size exceeds the limit of the reader ({exc})") from exc
    with im:
        check_pixels(path, (im.size[1], im.size[0]), _pil_bytes(im.mode))
        im.load()
        if im.mode == "P" and not palette_indices:
            return np.array(im.convert("RGBA" if "transparency" in im.info else "RGB"))
        if im.mode in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "F") or im.mode.startswith("I;16"):
            return np.array(im)
        return np.array(im.convert("RGB"))


def _pil_bytes(mode: str) -> int:
    if mode.startswith("I;16"):
        return 2
    return _PIL_BYTES.get(mode, 4)


def _tiff_itemsize(series) -> int:
    dtype = series.dtype if series.dtype is not None else series.pages[0].dtype
    return np.dtype(dtype).itemsize if dtype is not None else 8


#: A last axis this short, under two axes at least this long, holds channels (a 2-channel YXC
#: TIFF is not 64 slices 2 px wide); a last axis up to :data:`AMBIGUOUS_CHANNELS` long is
#: refused without ``--channel-axis``.
MAX_CHANNELS, MIN_SIDE, AMBIGUOUS_CHANNELS = 4, 16, 16


def parse_channel_axis(value) -> int | str | None:
    """``--channel-axis``: None (detect), ``"none"`` (no channel axis) or an axis number."""
    if value is None or str(value).lower() == "none":
        return None if value is None else "none"
    try:
        return int(value)
    except ValueError as exc:
        raise NoisyFixError(
            f"--channel-axis {value!r}: expected an axis number (0, 2, -1) or 'none'"
        ) from exc


def tiff_channel_axis(shape: tuple, axes: str, path: Path, channel_axis=None) -> int | None:
    """The axis of a TIFF's array that holds channels, or None.

    ``channel_axis`` (``--channel-axis``) decides when given; else the file's own axes (``S``
    samples, ``C`` channels), else the shape: a short last axis under two long ones is channels.

    Raises
    ------
    NoisyFixError
        The axis given is out of range, or the shape could be channels or slices.
    """
    ndim = len(shape)
    if channel_axis == "none":
        return None
    if channel_axis is not None:
        if not -ndim <= channel_axis < ndim:
            raise NoisyFixError(
                f"{path}: --channel-axis {channel_axis} is outside its {ndim} axes {shape}"
            )
        return channel_axis % ndim
    for letter in "SC":
        if letter in axes:
            return axes.index(letter)
    if ndim == 3 and min(shape[:2]) >= MIN_SIDE:
        if shape[-1] <= MAX_CHANNELS:
            return 2
        if shape[-1] <= AMBIGUOUS_CHANNELS and min(shape[:2]) >= MAX_CHANNELS * shape[-1]:
            raise NoisyFixError(
                f"{path}: shape {shape} could be {shape[-1]} channels or {shape[0]} slices of "
                f"{shape[1]}x{shape[2]} px; say which with --channel-axis 2 or --channel-axis none"
            )
    return None


def load_tiff(path: Path, channel_axis=None) -> Raw:
    """TIFF through tifffile: one page (2D, RGB, channels) or a stack of pages; see
    :func:`tiff_channel_axis` for which axis holds channels."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        check_pixels(path, series.shape, _tiff_itemsize(series))
        arr, axes = series.asarray(), series.axes
        alpha = any(int(e) in (1, 2) for e in (series.pages[0].extrasamples or ()))
    channel = tiff_channel_axis(arr.shape, axes, path, channel_axis)
    if channel is not None:
        arr = np.moveaxis(arr, channel, -1)
        keep = [i for i, n in enumerate(arr.shape[:-1]) if n > 1]
        arr = arr.reshape(*(arr.shape[i] for i in keep), arr.shape[-1])
        if arr.ndim == 3:
            return Raw(arr, False, "tiff", alpha=alpha)
        if arr.ndim == 4:
            return Raw(arr, True, "tiff", alpha=alpha)
    else:
        arr = np.squeeze(arr)
        if arr.ndim == 2:
            return Raw(arr, False, "tiff")
        if arr.ndim == 3:
            return Raw(arr, True, "tiff")
    raise NoisyFixError(f"{path}: TIFF with axes {axes} and shape {arr.shape} is not supported")


def load_nifti(path: Path) -> Raw:
    """NIfTI through nibabel: a 3D volume becomes its slices along the third axis."""
    import nibabel as nib

    img = nib.load(str(path))
    shape = tuple(int(s) for s in img.shape)
    check_pixels(path, shape, _nifti_itemsize(img))
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) not in (2, 3):
        raise NoisyFixError(f"{path}: NIfTI of shape {img.shape}: only 2D and 3D are supported")
    arr = np.asanyarray(img.dataobj).reshape(shape)
    if arr.dtype.names:
        raise NoisyFixError(f"{path}: NIfTI with structured (RGB) voxels is not supported")
    if arr.ndim == 2:
        return Raw(np.asarray(arr), False, "nifti", {"n_slices": 1})
    return Raw(np.moveaxis(np.asarray(arr), 2, 0), True, "nifti", {"n_slices": shape[2]})


def _nifti_itemsize(img) -> int:
    """Bytes per voxel once read: the stored type, or float64 when the header scales values."""
    itemsize = img.header.get_data_dtype().itemsize
    slope = getattr(img.dataobj, "slope", 1.0)
    inter = getattr(img.dataobj, "inter", 0.0)
    scaled = (slope is not None and slope != 1.0) or (inter is not None and inter != 0.0)
    return max(itemsize, 8) if scaled else itemsize


def _dicom_itemsize(ds) -> int:
    """Bytes per sample once decoded; rescaled values become float32."""
    bits = int(ds.get("BitsAllocated", 16) or 16)
    itemsize = max(1, -(-bits // 8))
    rescaled = (
        float(ds.get("RescaleSlope", 1) or 1) != 1 or float(ds.get("RescaleIntercept", 0) or 0) != 0
    )
    return max(itemsize, 4) if rescaled else itemsize


def _dicom_shape(ds) -> tuple[int, int, int, int]:
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    return frames, int(ds.Rows), int(ds.Columns), int(ds.get("SamplesPerPixel", 1) or 1)


def _dicom_pixels(ds, path: Path) -> np.ndarray:
    arr = ds.pixel_array
    slope, intercept = (
        float(ds.get("RescaleSlope", 1) or 1),
        float(ds.get("RescaleIntercept", 0) or 0),
    )
    if slope != 1 or intercept != 0:
        arr = arr.astype(np.float32) * slope + intercept
    if str(ds.get("PhotometricInterpretation", "")).upper() == "MONOCHROME1":
        arr = arr.max() + arr.min() - arr
    return arr


def _dicom_header(path: Path):
    import pydicom

    ds = pydicom.dcmread(path, stop_before_pixels=True)
    if "Rows" not in ds or "Columns" not in ds:
        raise NoisyFixError(f"{path}: DICOM file holds no image (no Rows/Columns)")
    check_pixels(path, _dicom_shape(ds), _dicom_itemsize(ds))
    return ds


def load_dicom_file(path: Path) -> Raw:
    """One DICOM file: a 2D image, or a multi-frame stack."""
    import pydicom

    header = _dicom_header(path)
    arr = _dicom_pixels(pydicom.dcmread(path), path)
    multi = int(header.get("NumberOfFrames", 1) or 1) > 1
    return Raw(arr, multi, "dicom", {"patient_id": str(header.get("PatientID", "")) or None})


def _slice_key(ds) -> tuple:
    """Position along the slice normal when the geometry is there, else the instance number."""
    ipp, iop = ds.get("ImagePositionPatient"), ds.get("ImageOrientationPatient")
    if ipp is not None and iop is not None and len(ipp) == 3 and len(iop) == 6:
        normal = np.cross(np.asarray(iop[:3], float), np.asarray(iop[3:], float))
        return (0, float(np.dot(normal, np.asarray(ipp, float))), 0)
    return (1, 0.0, int(ds.get("InstanceNumber", 0) or 0))


def _series_files(folder: Path) -> list[Path]:
    """The visible files of a series folder; a FIFO or device among them is refused."""
    visible = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    return [check_regular(p) for p in visible if not p.is_dir()]


def load_dicom_series(folder: Path, files: list[Path]) -> Raw:
    """A folder of single-frame DICOM files, sorted by position (or instance number)."""
    import pydicom

    headers = [(_dicom_header(f), f) for f in files]
    shapes = {(int(h.Rows), int(h.Columns)) for h, _ in headers}
    if len(shapes) > 1:
        raise NoisyFixError(f"{folder}: DICOM series mixes slice sizes {sorted(shapes)}")
    slice_bytes = max(math.prod(_dicom_shape(h)) * _dicom_itemsize(h) for h, _ in headers)
    check_pixels(folder, (len(files), slice_bytes))  # each file was checked on its own already
    headers.sort(key=lambda hf: (_slice_key(hf[0]), hf[1].name))
    arrays = [_dicom_pixels(pydicom.dcmread(f), f) for _, f in headers]
    pid = str(headers[0][0].get("PatientID", "")) or None
    order = [f.name for _, f in headers]
    return Raw(np.stack(arrays), True, "dicom", {"patient_id": pid, "files": order})


def load_folder(folder: Path, load_2d) -> Raw:
    """A folder: a DICOM series, or a stack of 2D files sorted by name."""
    files = _series_files(folder)
    dicoms = [f for f in files if is_dicom_file(f)]
    if dicoms:
        return load_dicom_series(folder, dicoms)
    files = [f for f in files if detect_format(f) in ("png", "jpeg", "tiff")]
    if not files:
        raise NoisyFixError(f"{folder}: folder holds no DICOM or image files")
    first = load_2d(files[0])
    check_pixels(folder, (len(files), *first.shape), first.itemsize)
    slices = [first, *(load_2d(f) for f in files[1:])]
    shapes = {s.shape for s in slices}
    if len(shapes) > 1:
        raise NoisyFixError(f"{folder}: slices of different shapes {sorted(shapes)}")
    return Raw(np.stack(slices), True, "folder", {"files": [f.name for f in files]})
