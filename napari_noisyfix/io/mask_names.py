"""Which mask file goes with which image: the same stem, or the stem plus a common mask suffix.

``a.png`` pairs with ``a.png``, ``a_mask.png``, ``a_masks.png`` (Cellpose), ``a_label.tif``,
``a_labels.nii.gz``, ``a_seg.npy`` (Cellpose) and so on (:data:`MASK_SUFFIXES`, any case, with
``_`` or ``-``). A mask whose stem is an image's stem exactly always goes with that image.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import NoisyFixError

#: Words a mask's stem may add after its image's stem (``name_mask``, ``name-labels``...).
MASK_SUFFIXES = ("mask", "masks", "label", "labels", "seg", "segmentation", "gt")
_SUFFIX = re.compile(r"^(?P<image>.+?)[_-](?:" + "|".join(MASK_SUFFIXES) + r")$", re.IGNORECASE)


def image_key(mask_key: str, image_keys) -> str | None:
    """The image stem a mask stem belongs to, or None when it belongs to none."""
    if mask_key in image_keys:
        return mask_key
    match = _SUFFIX.match(mask_key)
    return match["image"] if match and match["image"] in image_keys else None


def match_masks(
    images: dict[str, Path], masks: dict[str, Path], images_dir, masks_dir
) -> dict[str, Path]:
    """The mask file of every image stem.

    Raises
    ------
    NoisyFixError
        A mask that fits no image, an image without a mask, or two masks for one image (both
        named).
    """
    found: dict[str, Path] = {}
    for key in sorted(masks):
        owner = image_key(key, images)
        if owner is None:
            raise NoisyFixError(
                f"{masks[key]}: mask without an image (no '{key}.*' in {images_dir}, nor an "
                f"image it names with a suffix like _mask or _labels)"
            )
        if owner in found:
            raise NoisyFixError(
                f"{images[owner]}: two masks for this image, {found[owner].name} and "
                f"{masks[key].name}; keep one in {masks_dir}"
            )
        found[owner] = masks[key]
    unlabelled = sorted(set(images) - set(found))
    if unlabelled:
        key = unlabelled[0]
        raise NoisyFixError(
            f"{images[key]}: image without a mask (no '{key}.*' or '{key}_mask.*' in {masks_dir})"
        )
    return found
