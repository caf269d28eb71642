"""Checkpoints: weights in safetensors, config and history in JSON, one folder per model version.

A folder holds ``model.safetensors``, ``config.json`` (training settings, classes, channels, the
SHA-256 of the weights file and free-form metadata) and ``history.json`` (per-epoch curves).
It is written in a hidden temporary folder and renamed into place, so a crash never leaves half
a checkpoint; loading checks the digest and the architecture and refuses anything else.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .._atomic import read_json, write_json
from ..errors import NoisyFixError
from .config import TrainConfig
from .networks import SegNet, build_model, load_network_state

FORMAT = "noisyfix-checkpoint-1"
WEIGHTS, CONFIG, HISTORY = "model.safetensors", "config.json", "history.json"


@dataclass
class Checkpoint:
    """A loaded checkpoint: weights (CPU), settings, classes/channels, history, metadata, network."""

    state: dict
    config: TrainConfig
    in_channels: int
    n_classes: int
    history: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)
    model: SegNet | None = None


def save_checkpoint(
    path: str | os.PathLike,
    state: dict,
    config: TrainConfig,
    in_channels: int,
    n_classes: int,
    history: list | None = None,
    meta: dict | None = None,
) -> Path:
    """Write a checkpoint folder at ``path`` (which must not exist yet) atomically."""
    path = Path(path)
    if path.exists():
        raise NoisyFixError(f"{path}: a checkpoint exists there already")
    tmp = path.with_name(f".{path.name}.writing")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
        save_file(tensors, str(tmp / WEIGHTS), metadata={"format": FORMAT})
        info = {
            "format": FORMAT,
            "in_channels": int(in_channels),
            "n_classes": int(n_classes),
            "sha256": _digest(tmp / WEIGHTS),
            "train": config.to_dict(),
            "meta": meta or {},
        }
        write_json(tmp / CONFIG, info)
        write_json(tmp / HISTORY, history or [])
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read and verify a checkpoint folder (digest, format, architecture).

    Raises
    ------
    NoisyFixError
        Naming the file, when anything is missing, corrupt, tampered with or foreign.
    """
    path = Path(path)
    info = _verified_info(path)
    weights = path / WEIGHTS
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise NoisyFixError(f"{weights}: unreadable safetensors file ({exc})") from exc
    config = TrainConfig.from_dict(info["train"])
    history = read_json(path / HISTORY) if (path / HISTORY).exists() else []
    ckpt = Checkpoint(state, config, info["in_channels"], info["n_classes"], history, info["meta"])
    ckpt.model = build_from(ckpt, weights)
    return ckpt


def verify_checkpoint(path: str | os.PathLike) -> Path:
    """Check a checkpoint folder without loading it: its description and the weights' SHA-256.

    Raises
    ------
    NoisyFixError
        Naming the file that is missing, corrupt or modified.
    """
    _verified_info(Path(path))
    return Path(path)


def _verified_info(path: Path) -> dict:
    info = _read_info(path / CONFIG)
    weights = path / WEIGHTS
    if not weights.is_file():
        raise NoisyFixError(f"{weights}: weights file not found")
    if _digest(weights) != info["sha256"]:
        raise NoisyFixError(f"{weights}: checksum mismatch, the file is corrupt or was modified")
    return info


def _read_info(path: Path) -> dict:
    info = read_json(path)
    keys = ("format", "in_channels", "n_classes", "sha256", "train", "meta")
    if (
        not isinstance(info, dict)
        or info.get("format") != FORMAT
        or any(k not in info for k in keys)
    ):
        raise NoisyFixError(f"{path}: not a noisyfix checkpoint description")
    if not isinstance(info["train"], dict):
        raise NoisyFixError(f"{path}: training settings missing")
    return info


def build_from(ckpt: Checkpoint, where: Path | str = "checkpoint") -> SegNet:
    """The network of a checkpoint with its weights loaded (CPU, eval mode)."""
    model = build_model(
        TrainConfig.from_dict({**ckpt.config.to_dict(), "encoder_weights": None}),
        ckpt.in_channels,
        ckpt.n_classes,
    )
    try:
        load_network_state(model, ckpt.state)
    except RuntimeError as exc:
        raise NoisyFixError(
            f"{where}: weights do not fit a {ckpt.config.arch}/{ckpt.config.encoder} network "
            f"with {ckpt.in_channels} channels and {ckpt.n_classes} classes"
        ) from exc
    return model.eval()


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def load_state(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Only the verified weights of a checkpoint folder."""
    return load_checkpoint(path).state
