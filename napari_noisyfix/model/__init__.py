"""Noise-robust segmentation training and inference (Qt-free).

- :mod:`.networks`: smp U-Net / U-Net++ registry with decoder dropout (:func:`build_model`).
- :mod:`.losses`: CE/BCE, soft Dice, CE+Dice, GCE, SCE with pixel weights and an ignore value.
- :mod:`.config`: :class:`TrainConfig` with the ``plain`` and ``robust`` recipes and CLI options.
- :mod:`.trainer`: :func:`train`, a generator of progress returning a :class:`TrainResult`.
- :mod:`.strategies`: confidence filtering, pseudo-labels, consistency, curriculum.
- :mod:`.oof`: :func:`train_out_of_fold` (out-of-fold probabilities plus a final model).
- :mod:`.update`: :func:`update`, incremental retraining from the expert's corrections.
- :mod:`.predictor`: :class:`Predictor` (tiling, TTA, MC dropout, features) and :class:`Prediction`.
- :mod:`.checkpoints`: verified safetensors checkpoints, one folder per model version.
"""

from .checkpoints import Checkpoint, load_checkpoint, save_checkpoint
from .config import TrainConfig, add_train_arguments
from .device import resolve_device
from .networks import ARCHITECTURES, ENCODERS, SegNet, build_model
from .oof import train_out_of_fold
from .predictor import Prediction, Predictor
from .trainer import TrainResult, train
from .update import update

__all__ = [
    "ARCHITECTURES",
    "ENCODERS",
    "Checkpoint",
    "Prediction",
    "Predictor",
    "SegNet",
    "TrainConfig",
    "TrainResult",
    "add_train_arguments",
    "build_model",
    "load_checkpoint",
    "resolve_device",
    "save_checkpoint",
    "train",
    "train_out_of_fold",
    "update",
]
