"""Device choice and seeding: CUDA with mixed precision when present, CPU always."""

from __future__ import annotations

import contextlib
import random

import numpy as np
import torch

from ..errors import NoisyFixError


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"``: the first CUDA GPU if there is one, else the CPU; an explicit device is checked.

    Raises
    ------
    NoisyFixError
        When CUDA is asked for on a machine without a CUDA GPU, or the name is not a device.
    """
    name = str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError) as exc:
        raise NoisyFixError(f"{name!r} is not a device; use auto, cpu, cuda or cuda:N") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise NoisyFixError(f"device {name!r}: no CUDA GPU available")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise NoisyFixError(f"device {name!r}: only {torch.cuda.device_count()} CUDA GPU(s)")
    elif dev.type != "cpu":
        raise NoisyFixError(f"device {name!r} is not supported; use auto, cpu or cuda")
    return dev


def autocast(device: torch.device, enabled: bool):
    """Mixed-precision context on CUDA when ``enabled``; a no-op elsewhere."""
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def seed_everything(seed: int) -> np.random.Generator:
    """Seed torch, numpy and random; return a numpy generator for the run's own draws."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)
