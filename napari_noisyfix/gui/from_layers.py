"""A new project from layers already in the viewer: one Image layer and one Labels layer.

A 2D image gives one project image; a 3D stack (``(Z, H, W)``, or ``(Z, H, W, 3)`` for RGB)
gives one image per slice, named ``<layer>_z000``... like an imported volume. The slices are
one patient when the layer says it is a volume (NIfTI or DICOM opened by this plugin's reader);
otherwise, as in the plugin's sample data, each slice is its own patient. Pixels and labels go
through the importer's rules (:func:`~napari_noisyfix.io.readers.to_image`, ``to_mask``).
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import NoisyFixError
from ..io.formats import safe_name
from ..io.loaders import Raw
from ..io.pairs import _slice_names
from ..io.readers import to_image, to_mask
from ..project import Project


def _layer_type(kind: str):
    import napari.layers

    return getattr(napari.layers, kind)


def _pick(viewer, kind: str):
    """The selected layer of type ``kind``, else the only one in the viewer."""
    cls = _layer_type(kind)
    selected = [layer for layer in viewer.layers.selection if isinstance(layer, cls)]
    present = [layer for layer in viewer.layers if isinstance(layer, cls)]
    candidates = selected or present
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise NoisyFixError(f"no {kind} layer in the viewer; open or add one first")
    names = ", ".join(repr(layer.name) for layer in candidates)
    raise NoisyFixError(f"{len(candidates)} {kind} layers ({names}): select the one to use")


def pick_layers(viewer) -> tuple:
    """The Image and the Labels layer to build a project from: the selected ones, or the only
    one of each kind.

    Raises
    ------
    NoisyFixError
        No layer of a kind, or several and none of them (or several) selected.
    """
    return _pick(viewer, "Image"), _pick(viewer, "Labels")


def _spatial_ndim(layer, labels_layer) -> int:
    for one in (layer, labels_layer):
        if one.multiscale:
            raise NoisyFixError(f"layer {one.name!r}: multiscale data is not supported")
    ndim = np.ndim(layer.data) - (1 if getattr(layer, "rgb", False) else 0)
    if ndim not in (2, 3):
        raise NoisyFixError(
            f"layer {layer.name!r}: {ndim}D data; give a 2D image or a 3D stack of slices"
        )
    return ndim


def layer_arrays(image_layer, labels_layer) -> tuple[dict, dict, dict]:
    """Project images, masks and patients (by image name) from an Image and a Labels layer."""
    ndim = _spatial_ndim(image_layer, labels_layer)
    where = f"layer {image_layer.name!r}"
    volume = ndim == 3
    data = np.asarray(image_layer.data)
    rgba = bool(image_layer.rgb) and data.shape[-1] == 4
    image = to_image(Raw(data, volume, "napari", alpha=rgba), where)
    labels = np.asarray(labels_layer.data)
    hw = image.shape[:ndim]
    if labels.shape != hw:
        raise NoisyFixError(
            f"layer {labels_layer.name!r}: labels shape {labels.shape} does not match "
            f"{where} shape {hw}"
        )
    mask, _ = to_mask(Raw(labels, volume, "napari"), f"layer {labels_layer.name!r}")
    names = _slice_names(image_layer.name, len(image) if volume else 1, volume)
    images = dict(zip(names, image if volume else [image], strict=True))
    masks = dict(zip(names, mask if volume else [mask], strict=True))
    one_patient = volume and bool(image_layer.metadata.get("volume"))
    patients = {n: safe_name(image_layer.name) if one_patient else n for n in names}
    return images, masks, patients


def project_from_layers(folder: str | os.PathLike, image_layer, labels_layer) -> Project:
    """Create a project in ``folder`` (which must not exist) from an Image and a Labels layer
    (see :func:`pick_layers`); returned open for writing."""
    images, masks, patients = layer_arrays(image_layer, labels_layer)
    record = {"image_layer": image_layer.name, "labels_layer": labels_layer.name}
    return Project.create(folder, images, masks, patients=patients, extra={"from_layers": record})
