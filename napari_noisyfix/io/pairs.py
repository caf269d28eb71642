"""Pair a folder of images with a folder of masks by file stem; volumes become named 2D slices."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import NoisyFixError
from .formats import detect_format, safe_name, stem
from .readers import load_raw, to_image, to_mask


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


def folder_entries(folder: str | os.PathLike, what: str) -> dict[str, Path]:
    """Image files and series sub-folders of ``folder`` by stem (hidden and other files skipped)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NoisyFixError(f"{folder}: {what} folder not found")
    entries: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if detect_format(path) is None:
            continue
        key = stem(path)
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


def _check_matching(images: dict[str, Path], masks: dict[str, Path], masks_dir, images_dir):
    orphans = sorted(set(masks) - set(images))
    if orphans:
        key = orphans[0]
        raise NoisyFixError(f"{masks[key]}: mask without an image (no '{key}.*' in {images_dir})")
    unlabelled = sorted(set(images) - set(masks))
    if unlabelled:
        key = unlabelled[0]
        raise NoisyFixError(f"{images[key]}: image without a mask (no '{key}.*' in {masks_dir})")


def _slice_names(key: str, n: int, volume: bool) -> list[str]:
    if not volume:
        return [safe_name(key)]
    width = max(3, len(str(n - 1)))
    return [f"{safe_name(key)}_z{z:0{width}d}" for z in range(n)]


def _pair_entry(key: str, image_path: Path, mask_path: Path) -> list[ImagePair]:
    raw = load_raw(image_path)
    image = to_image(raw, image_path)
    mask, scale = to_mask(load_raw(mask_path, for_mask=True), mask_path)
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
        )
        for z, (name, img, m) in enumerate(zip(names, images, masks, strict=True))
    ]


def read_folder_pairs(
    images_dir: str | os.PathLike, masks_dir: str | os.PathLike
) -> list[ImagePair]:
    """Read every image with its mask, matched by file stem.

    A 3D volume (NIfTI, DICOM series folder, multi-page TIFF, folder of slices) gives one pair per
    slice, named ``<stem>_z###``, whose patient is the volume; a 2D image is its own patient.

    Raises
    ------
    NoisyFixError
        Missing folder, empty folder, unmatched image or mask, shape mismatch, bad mask values,
        unreadable file: the message names the file.
    """
    images = folder_entries(images_dir, "images")
    masks = folder_entries(masks_dir, "masks")
    _check_matching(images, masks, masks_dir, images_dir)
    pairs: list[ImagePair] = []
    seen: dict[str, Path] = {}
    for key in sorted(images):
        for pair in _pair_entry(key, images[key], masks[key]):
            if pair.name in seen:
                raise NoisyFixError(
                    f"{images[key]}: its name becomes {pair.name!r}, like {seen[pair.name].name}"
                )
            seen[pair.name] = images[key]
            pairs.append(pair)
    return pairs
