"""napari-noisyfix: find, review and fix noisy segmentation labels."""

__version__ = "0.1.0"
