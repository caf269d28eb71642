"""Reading and writing images and masks: PNG, JPEG, TIFF, NIfTI (nibabel), DICOM (pydicom).

- :mod:`.readers`: :func:`read_image` and :func:`read_mask` for files and series folders;
- :mod:`.pairs`: :func:`read_folder_pairs` pairs images with masks by file stem, volumes as
  named 2D slices;
- :mod:`.importer`: :func:`import_project` builds a project (``noisyfix import``);
- :mod:`.writers`: :func:`write_mask`; :mod:`.export`: :func:`export_project` writes cleaned masks
  in the input's format, the review log and the newest model (``noisyfix export``).

Every bad input raises :class:`~napari_noisyfix.errors.NoisyFixError` naming the file.
"""

from .export import export_project
from .importer import import_project
from .pairs import ImagePair, read_folder_pairs
from .readers import read_image, read_mask
from .writers import write_mask

__all__ = [
    "ImagePair",
    "export_project",
    "import_project",
    "read_folder_pairs",
    "read_image",
    "read_mask",
    "write_mask",
]
