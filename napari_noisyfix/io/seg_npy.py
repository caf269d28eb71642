"""Masks saved with numpy as ``NAME_seg.npy``, read without unpickling anything.

Cellpose's ``_seg.npy`` is a Python dict saved with :func:`numpy.save`, so reading it means
unpickling, which can run any code the file carries; noisyfix trusts no file from outside and
refuses it, saying how to export the masks instead. A ``_seg.npy`` holding a plain array of
class ids (2D, or 3D for a volume) is read: :func:`numpy.load` with ``allow_pickle=False``,
after its header's size has been checked like any image's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import NoisyFixError
from .formats import check_pixels, check_regular
from .loaders import Raw

SUFFIX = "_seg.npy"
PICKLED = (
    "a pickled numpy file (Cellpose's _seg.npy is a dict), which noisyfix does not unpickle; "
    "export the masks as PNG or TIFF instead (Cellpose: File > Save masks as PNG/tif, or "
    "--save_png / --save_tif)"
)


def is_seg_npy(path: Path) -> bool:
    """Whether ``path`` is named like a numpy mask file (``NAME_seg.npy``, any case)."""
    return path.name.lower().endswith(SUFFIX) and not path.name.startswith(".")


def seg_stem(path: Path) -> str:
    """``NAME_seg`` of ``NAME_seg.npy``."""
    return path.name[: -len(".npy")]


def _header(path: Path) -> tuple[tuple, np.dtype]:
    """Shape and dtype from the ``.npy`` header; refuses what is not an ``.npy`` file."""
    with open(path, "rb") as fh:
        try:
            version = np.lib.format.read_magic(fh)
            read = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read(fh)
        except ValueError as exc:
            raise NoisyFixError(f"{path}: not a numpy .npy file ({exc})") from exc
    return shape, dtype


def load_seg_npy(path: str | Path) -> Raw:
    """The mask array of a ``NAME_seg.npy`` file.

    Raises
    ------
    NoisyFixError
        A pickled file (a Cellpose dict, any object array), not an ``.npy`` file, not 2D or 3D,
        too large, or unreadable.
    """
    path = check_regular(path)
    shape, dtype = _header(path)
    if dtype.hasobject:
        raise NoisyFixError(f"{path}: {PICKLED}")
    if len(shape) not in (2, 3):
        raise NoisyFixError(f"{path}: array of shape {shape}; expected a 2D or 3D mask")
    check_pixels(path, shape, dtype.itemsize)
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise NoisyFixError(f"{path}: unreadable numpy file ({exc})") from exc
    return Raw(array, volume=array.ndim == 3, fmt="npy")
