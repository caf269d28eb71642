"""Synthetic data: medical-looking phantoms, the benchmark's label-noise protocol, the sample project.

- :mod:`.phantoms`: :func:`make_phantom` gray images (nuclei or lesions) with true masks;
- :mod:`.noise`: :func:`corrupt_mask` and :func:`corrupt_dataset`, the label noise of
  ``BENCHMARK_PROTOCOL.md`` (dilation/erosion, affine shift, dropped and spurious objects);
- :mod:`.sample`: :func:`make_sample_project` (a ready project with noisy masks and ``truth/``)
  and :func:`sample_layers` (a small in-memory sample for napari's sample-data menu).
"""

from .noise import KINDS, corrupt_dataset, corrupt_mask, dice
from .phantoms import make_phantom
from .sample import make_sample_project, sample_layers

__all__ = [
    "KINDS",
    "corrupt_dataset",
    "corrupt_mask",
    "dice",
    "make_phantom",
    "make_sample_project",
    "sample_layers",
]
