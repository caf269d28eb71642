"""Shared test settings: small thread pools and fixed seeds, so the suite runs on 2 cores repeatably."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seeded():
    """Fix numpy's global seed and keep torch to one thread in every test."""
    np.random.seed(0)
    try:
        import torch

        torch.manual_seed(0)
        torch.set_num_threads(1)
    except ImportError:  # torch is a hard dependency; this guards only partial environments
        pass
    yield
