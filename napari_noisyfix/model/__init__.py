"""Noise-robust segmentation training and inference (Qt-free).

- :mod:`.networks`: smp U-Net / U-Net++ registry with decoder dropout (:func:`build_model`).
- :mod:`.maskrcnn`, :mod:`.maskrcnn_targets`: torchvision Mask R-CNN for instance projects
  (``arch="maskrcnn"``), its targets from object ids and its probability maps.
- :mod:`.losses`: CE/BCE, soft Dice, CE+Dice, GCE, SCE with pixel weights and an ignore value.
- :mod:`.config`: :class:`TrainConfig` with the ``plain`` and ``robust`` recipes and CLI options.
- :mod:`.trainer`: :func:`train`, a generator of progress returning a :class:`TrainResult`.
- :mod:`.strategies`: confidence filtering, pseudo-labels, consistency, curriculum.
- :mod:`.oof`: :func:`train_out_of_fold` (out-of-fold probabilities plus a final model).
- :mod:`.update`: :func:`update`, incremental retraining from the expert's corrections.
- :mod:`.predictor`: :class:`Predictor` (tiling, TTA, MC dropout, features) and :class:`Prediction`.
- :mod:`.checkpoints`: verified safetensors checkpoints, one folder per model version.

Names are imported on first use (PEP 562), so ``noisyfix --help`` and the CLI's option parsing do
not pay for importing torch. The incremental update is ``napari_noisyfix.model.update.update``
(the package attribute ``update`` is its module).
"""

from .._lazy import lazy_getattr

_WHERE = {
    "Checkpoint": "checkpoints",
    "load_checkpoint": "checkpoints",
    "save_checkpoint": "checkpoints",
    "TrainConfig": "config",
    "add_train_arguments": "config",
    "resolve_device": "device",
    "ARCHITECTURES": "networks",
    "ENCODERS": "config",
    "SegNet": "networks",
    "build_model": "networks",
    "train_out_of_fold": "oof",
    "Prediction": "predictor",
    "Predictor": "predictor",
    "TrainResult": "trainer",
    "train": "trainer",
}
__all__ = sorted(_WHERE)


__getattr__ = lazy_getattr(__name__, _WHERE)
