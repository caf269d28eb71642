"""Synthetic data: medical-looking phantoms, the benchmark's label-noise protocol, the sample project.

- :mod:`.phantoms`: :func:`make_phantom` gray images (nuclei or lesions) with true masks;
- :mod:`.noise`: :func:`corrupt_mask` and :func:`corrupt_dataset`, the label noise of
  ``BENCHMARK_PROTOCOL.md`` (dilation/erosion, affine shift, dropped and spurious objects);
- :mod:`.annotator_noise`: our extension, seven annotator-style noise types (Markov boundary,
  polygons, jitter, holes, merged, skipped and unannotated objects), ``kinds="realistic"``;
- :mod:`.sample`: :func:`make_sample_project` (a ready project with noisy masks and ``truth/``)
  and :func:`sample_layers` (a small in-memory sample for napari's sample-data menu);
- SinGAN-Seg synthetic image + mask pairs: :mod:`.singan_nets` (per-scale generator and patch
  critic), :mod:`.singan_train` (coarse-to-fine WGAN-GP + reconstruction training),
  :mod:`.singan_generate` (sampling pairs, the safetensors file), :mod:`.style` (offline style
  transfer: Fourier domain adaptation, random-feature AdaIN), :mod:`.store` (generators and pairs
  in a project) and :mod:`.cli` (``noisyfix synth train | generate``, ``noisyfix synth-benchmark``).
"""

from .noise import (
    ALL_KINDS,
    KINDS,
    REALISTIC_KINDS,
    corrupt_dataset,
    corrupt_mask,
    dice,
    parse_kinds,
)
from .phantoms import make_phantom
from .sample import make_sample_project, sample_layers

__all__ = [
    "ALL_KINDS",
    "KINDS",
    "REALISTIC_KINDS",
    "corrupt_dataset",
    "corrupt_mask",
    "dice",
    "make_phantom",
    "make_sample_project",
    "parse_kinds",
    "sample_layers",
]
