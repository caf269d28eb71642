"""``python -m napari_noisyfix``: the ``noisyfix`` command (what torchrun starts in each process)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
