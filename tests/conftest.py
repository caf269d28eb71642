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


@pytest.fixture
def window_app(qapp, mock_app_model):
    """A fresh napari app model for a test that opens a real window (``launch``).

    ``make_napari_viewer`` clears napari's plugin-initialisation cache; a real ``napari.Viewer``
    made afterwards would register the plugin's commands a second time in the global app model
    and fail. Here the window gets its own app model, torn down after the test.
    """
    from napari._qt._qapp_model.qactions import init_qactions
    from napari.plugins import _initialize_plugins

    _initialize_plugins.cache_clear()
    init_qactions.cache_clear()
    return qapp
