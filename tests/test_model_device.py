"""Device choice: auto falls back to the CPU, CUDA without a GPU is a clear error; seeding."""

import numpy as np
import pytest
import torch

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.model.device import autocast, resolve_device, seed_everything


def test_auto_falls_back_to_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


def test_cuda_without_gpu_and_bad_names(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(NoisyFixError, match="no CUDA GPU available"):
        resolve_device("cuda")
    with pytest.raises(NoisyFixError, match="not a device"):
        resolve_device("gpu please")
    with pytest.raises(NoisyFixError, match="not supported"):
        resolve_device("meta")


def test_autocast_is_a_no_op_on_cpu():
    with autocast(torch.device("cpu"), enabled=True):
        assert not torch.is_autocast_enabled()


def test_seed_everything_repeats_draws():
    a = seed_everything(4)
    ta = torch.rand(3)
    b = seed_everything(4)
    assert np.array_equal(a.random(3), b.random(3)) and torch.equal(ta, torch.rand(3))
