"""Where a network's batch-norm statistics come from (``TrainConfig.norm_stats``).

- ``"batches"``: torch's own running average over the training batches (a full training).
- ``"frozen"``: the starting weights' statistics, kept and normalised with while training
  (:func:`freeze_norm_statistics`); the scale and shift still learn.
- ``"project"``: after the last step, the statistics are estimated again for the new weights in
  one label-free pass over a bounded sample of the run's images (:func:`estimate_statistics`,
  "precise batch norm"): an update's few steps on batches drawn for the corrections would
  otherwise leave statistics of those batches, not of the project its model predicts.
"""

from __future__ import annotations

import numpy as np
import torch

from .data import Sample, make_batch
from .device import autocast

#: The most images (one crop each) the ``"project"`` pass reads: the statistics of a few dozen
#: crops are close to the whole project's, and the pass must stay a small part of an update.
MAX_IMAGES = 64


def norm_layers(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The batch-norm layers of ``model``."""
    return [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def freeze_norm_statistics(model: torch.nn.Module) -> int:
    """Make every batch-norm layer of ``model`` normalise with its stored statistics and keep
    them, also in training mode (its scale and shift still learn); returns the layers frozen.

    A forward pre-hook sets the layer to eval mode before each call, so ``model.train()``
    elsewhere cannot undo it; the hooks live on this model object only, not in its state.
    """
    layers = norm_layers(model)
    for layer in layers:
        layer.register_forward_pre_hook(_eval_mode)
    return len(layers)


def _eval_mode(module: torch.nn.Module, _inputs) -> None:
    module.training = False


def statistics_batches(
    rng: np.random.Generator, samples: list[Sample], size: tuple[int, int], batch_size: int
) -> list[torch.Tensor]:
    """Image batches of the ``"project"`` pass: one random crop of ``size`` from each of up to
    :data:`MAX_IMAGES` images drawn without replacement, unaugmented, in batches of equal size
    (``batch_size``, or all of them when fewer), so that every crop weighs the same."""
    n = min(len(samples), MAX_IMAGES)
    if n >= batch_size:
        n -= n % batch_size
    else:
        batch_size = n
    chosen = [int(i) for i in rng.choice(len(samples), size=n, replace=False)]
    return [
        make_batch(rng, samples, chosen[i : i + batch_size], size)[0]
        for i in range(0, n, batch_size)
    ]


@torch.no_grad()
def estimate_statistics(model, batches, device, amp: bool = False) -> int:
    """Replace the running mean and variance of every batch-norm layer of ``model`` by their
    cumulative average over ``batches`` (momentum None), with no gradient and no other layer in
    training mode (dropout off); returns the layers estimated. The model's modes and the
    layers' momenta are restored.

    With batches of equal size the running mean is the exact mean of each channel's activations
    over all of them, and the running variance the mean of the batches' unbiased variances.
    """
    layers = norm_layers(model)
    modes = {m: m.training for m in model.modules()}
    momenta = [layer.momentum for layer in layers]
    try:
        model.eval()
        for layer in layers:
            layer.reset_running_stats()
            layer.momentum = None
            layer.train()
        for images in batches:
            with autocast(device, amp):
                model(images.to(device))
    finally:
        for layer, momentum in zip(layers, momenta, strict=True):
            layer.momentum = momentum
        for module, training in modes.items():
            module.training = training
    return len(layers)
