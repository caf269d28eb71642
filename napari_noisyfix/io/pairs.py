"""Pair a folder of images with a folder of masks by file stem; volumes become named 2D slices.

A mask's stem is its image's stem, or that stem with a common mask suffix (``_mask``,
``_masks``, ``_labels``, ``_seg``...: :mod:`.mask_names`); Cellpose's ``_seg.npy`` files are
recognised but read only when they hold a plain array (:mod:`.seg_npy`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import instance_labels
from ..errors import NoisyFixError
from .formats import detect_format, safe_name, stem
from .mask_names import match_masks
from .readers import (
    MAX_CLASS,
    describe_values,
    is_dense,
    load_raw,
    mask_values,
    to_image,
    to_mask,
)
from .seg_npy import is_seg_npy, load_seg_npy, seg_stem


@dataclass
class ImagePair:
    """One 2D image with its mask, ready for :meth:`Project.create`."""

    name: str
    image: np.ndarray
    mask: np.ndarray
    patient: str
    source: dict
    mask_source: str
    mask_scale: int = 1
    #: The mask's raw integer values (read for ``--labels instance`` or ``auto``).
    ids: np.ndarray | None = None
    #: Why the mask cannot be read as class ids (``auto`` decides later whether that matters).
    mask_error: NoisyFixError | None = None
    #: Why the mask cannot be read as object ids (likewise).
    id_error: NoisyFixError | None = None


def data_folders(parent: str | os.PathLike) -> tuple[Path, Path]:
    """The ``images/`` and ``masks/`` folders of a data folder that holds both."""
    parent = Path(parent)
    missing = [sub for sub in ("images", "masks") if not (parent / sub).is_dir()]
    if missing:
        raise NoisyFixError(
            f"{parent}: no {' and no '.join(s + '/' for s in missing)} folder inside; give a "
            "folder holding images/ and masks/, or the images and masks folders themselves"
        )
    return parent / "images", parent / "masks"


def folder_entries(folder: str | os.PathLike, what: str, masks: bool = False) -> dict[str, Path]:
    """Image files and series sub-folders of ``folder`` by stem (hidden and other files skipped);
    with ``masks``, ``NAME_seg.npy`` files too (stem ``NAME_seg``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NoisyFixError(f"{folder}: {what} folder not found")
    entries: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        npy = masks and is_seg_npy(path)
        if not npy and detect_format(path) is None:
            continue
        key = seg_stem(path) if npy else stem(path)
        if key in entries:
            raise NoisyFixError(
                f"{path}: same name as {entries[key].name}; {what} names must be unique"
            )
        entries[key] = path
    if not entries:
        raise NoisyFixError(
            f"{folder}: no {what} found (PNG, JPEG, TIFF, NIfTI, DICOM files or series folders)"
        )
    return entries


def _slice_names(key: str, n: int, volume: bool) -> list[str]:
    if not volume:
        return [safe_name(key)]
    width = max(3, len(str(n - 1)))
    return [f"{safe_name(key)}_z{z:0{width}d}" for z in range(n)]


def raw_ids(mask_raw, where) -> np.ndarray:
    """A mask's values as object ids (one channel, non-negative integers up to 65535)."""
    if mask_raw.has_channels:
        raise NoisyFixError(f"{where}: colour mask; an instance mask is one channel of object ids")
    return instance_labels.check_ids(mask_raw.array, str(where))


def _pair_entry(
    key: str, image_path: Path, mask_path: Path, keep_ids: bool, channel_axis=None
) -> list[ImagePair]:
    raw = load_raw(image_path, channel_axis=channel_axis)
    image = to_image(raw, image_path)
    mask_raw = load_seg_npy(mask_path) if is_seg_npy(mask_path) else load_raw(mask_path, True)
    ids = id_error = error = None
    if keep_ids:
        try:
            ids = raw_ids(mask_raw, mask_path)
        except NoisyFixError as exc:
            id_error = exc
    try:
        mask, scale = to_mask(mask_raw, mask_path)
    except NoisyFixError as exc:
        if ids is None:
            raise
        mask, scale, error = instance_labels.semantic(ids), 1, exc
    rgb = image.ndim == (4 if raw.volume else 3)
    hw = image.shape[:-1] if rgb else image.shape
    if tuple(mask.shape) != tuple(hw):
        what = "volume" if raw.volume else "image"
        raise NoisyFixError(
            f"{mask_path}: mask shape {mask.shape} does not match {what} {image_path.name} "
            f"shape {tuple(hw)}"
        )
    images = list(image) if raw.volume else [image]
    masks = list(mask) if raw.volume else [mask]
    id_maps = [None] * len(masks) if ids is None else (list(ids) if raw.volume else [ids])
    names = _slice_names(key, len(images), raw.volume)
    src = str(image_path.resolve())
    return [
        ImagePair(
            name=name,
            image=np.ascontiguousarray(img),
            mask=np.ascontiguousarray(m),
            patient=safe_name(key) if raw.volume else name,
            source={"source": src, "source_format": raw.fmt, "slice": z if raw.volume else None},
            mask_source=str(mask_path.resolve()),
            mask_scale=scale,
            ids=None if i is None else np.ascontiguousarray(i),
            mask_error=error,
            id_error=id_error,
        )
        for z, (name, img, m, i) in enumerate(zip(names, images, masks, id_maps, strict=True))
    ]


def _file_values(pairs: list[ImagePair]) -> dict[str, set[int]]:
    """Distinct mask values of every mask file, in the file's own units (binary: 0 and v)."""
    out: dict[str, set[int]] = {}
    for p in pairs:
        values = {int(v) * p.mask_scale for v in mask_values(p.mask)}
        out.setdefault(p.mask_source, set()).update(values)
    return out


def _misfit(files: dict[str, set[int]]) -> NoisyFixError:
    """The error for binary masks among class-id masks whose ids they do not fit."""
    ids = max((k for k, v in files.items() if len(v - {0}) > 1), key=lambda k: max(files[k]))
    top = max(files[ids])
    odd = next(k for k in sorted(files) if max(files[k]) > top)
    return NoisyFixError(
        f"{odd}: mask values {describe_values(sorted(files[odd]))} do not fit the class ids "
        f"{describe_values(sorted(files[ids]))} of {Path(ids).name}; give binary masks (0 and "
        "one other value) or class ids 0..K-1 throughout"
    )


def reconcile_masks(pairs: list[ImagePair]) -> None:
    """Decide, over all mask files, between class ids and binary masks (in place).

    Mask values that together are dense class ids ``0..K-1`` are class ids: a file holding one
    class only (``{0, 2}``, read as binary 0/1 with scale 2) gets its ids back. Otherwise every
    file must be binary (0 and one value of its own, e.g. 0/1 in some files, 0/255 in others).

    Raises
    ------
    NoisyFixError
        Binary files whose value is no class id of the class-id files, naming both.
    """
    files = _file_values(pairs)
    union = np.array(sorted(set().union(*files.values())), dtype=np.int64)
    if is_dense(union) and len(union) <= MAX_CLASS + 1:
        for p in pairs:
            if p.mask_scale > 1:
                p.mask, p.mask_scale = (p.mask * p.mask_scale).astype(np.uint8), 1
        return
    if any(len(values - {0}) > 1 for values in files.values()):
        raise _misfit(files)


def read_label_pairs(
    images_dir: str | os.PathLike,
    masks_dir: str | os.PathLike,
    labels: str = "semantic",
    channel_axis=None,
) -> tuple[list[ImagePair], str, str]:
    """Like :func:`read_folder_pairs`, with the masks read as ``labels``.

    ``labels`` is ``semantic`` (class ids or binary), ``instance`` (object ids) or ``auto``
    (:func:`~napari_noisyfix.instance_labels.decide`). Returns the pairs, the decision
    (``semantic`` or ``instance``) and why, in words; an instance pair's ``mask`` holds its
    uint16 ids.
    """
    if labels not in instance_labels.MODES:
        instance_labels.decide([], labels)
    pairs = _read_pairs(images_dir, masks_dir, labels != "semantic", channel_axis)
    not_ids = next((p.id_error for p in pairs if p.id_error is not None), None)
    if not_ids is not None and labels == "instance":
        raise not_ids
    if not_ids is not None:
        mode, why = "semantic", f"{not_ids}; read as classes"
    else:
        mode, why = instance_labels.decide([p.ids for p in pairs], labels)
    if mode == "semantic":
        for p in pairs:
            if p.mask_error is not None:
                raise p.mask_error
        reconcile_masks(pairs)
    else:
        for p in pairs:
            p.mask, p.mask_scale = p.ids, 1
    return pairs, mode, why


def read_folder_pairs(
    images_dir: str | os.PathLike, masks_dir: str | os.PathLike, channel_axis=None
) -> list[ImagePair]:
    """Read every image with its mask, matched by file stem (or stem and mask suffix);
    ``channel_axis`` says which axis of the TIFF images holds channels (default: detected).

    A 3D volume (NIfTI, DICOM series folder, multi-page TIFF, folder of slices) gives one pair per
    slice, named ``<stem>_z###``, whose patient is the volume; a 2D image is its own patient.
    Mask values are decided over all files (:func:`reconcile_masks`): class ids, or binary.

    Raises
    ------
    NoisyFixError
        Missing folder, empty folder, unmatched image or mask, two masks for one image, shape
        mismatch, bad mask values, unreadable or pickled file: the message names the file.
    """
    pairs = _read_pairs(images_dir, masks_dir, keep_ids=False, channel_axis=channel_axis)
    reconcile_masks(pairs)
    return pairs


def _read_pairs(images_dir, masks_dir, keep_ids: bool, channel_axis=None) -> list[ImagePair]:
    """Every image with its mask, names checked; mask values not yet reconciled."""
    images = folder_entries(images_dir, "images")
    masks = match_masks(
        images, folder_entries(masks_dir, "masks", masks=True), images_dir, masks_dir
    )
    pairs: list[ImagePair] = []
    seen: dict[str, Path] = {}
    for key in sorted(images):
        for pair in _pair_entry(key, images[key], masks[key], keep_ids, channel_axis):
            if pair.name in seen:
                raise NoisyFixError(
                    f"{images[key]}: its name becomes {pair.name!r}, like {seen[pair.name].name}"
                )
            seen[pair.name] = images[key]
            pairs.append(pair)
    return pairs
