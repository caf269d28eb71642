"""Training budgets: how much ``noisyfix train`` (and the widget's Train) does, sized to the device.

A budget sets the network, the schedule (epochs x steps), the crop size and the number of folds;
``auto`` picks ``quick`` on a CPU and ``standard`` on a GPU. Options given explicitly win over
the budget. :func:`estimate_seconds` times a few optimiser steps of the chosen network on the
device and multiplies by the number of steps the plan holds, so the estimate is a measurement on
this machine, not a table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..errors import NoisyFixError
from .config import TrainConfig


@dataclass(frozen=True)
class TrainBudget:
    """The fields of a training plan a budget sets."""

    name: str
    encoder: str
    epochs: int
    steps_per_epoch: int
    image_size: int
    folds: int

    def fields(self) -> dict:
        """The :class:`TrainConfig` fields it sets (:data:`BUDGETED`)."""
        return {name: getattr(self, name) for name in BUDGETED}


#: quick: the light network, 2 folds, a short schedule (minutes on 2 CPU cores for a few dozen
#: images); standard: resnet18 and 3 folds; thorough: longer, larger crops and 5 folds (a GPU).
BUDGETS = {
    "quick": TrainBudget("quick", "mobilenetv3_small", 8, 12, 128, 2),
    "standard": TrainBudget("standard", "resnet18", 12, 20, 128, 3),
    "thorough": TrainBudget("thorough", "resnet18", 25, 25, 256, 5),
}
CHOICES = ("auto", *BUDGETS)
#: The training options whose default the budget sets (the folds too).
BUDGETED = ("encoder", "epochs", "steps_per_epoch", "image_size")


def budget_text(name: str) -> str:
    """What a budget trains, in one line, without looking at the device (no torch import)."""
    if name == "auto":
        return "quick on a CPU, standard on a GPU"
    b = BUDGETS[name]
    return (
        f"{b.folds} folds + a final model, {b.epochs} epochs x {b.steps_per_epoch} steps, "
        f"{b.image_size}-px crops, {b.encoder}"
    )


def auto_budget(device: str = "auto") -> str:
    """``quick`` when training would run on the CPU, ``standard`` on a GPU."""
    from .device import resolve_device

    return "quick" if resolve_device(device).type == "cpu" else "standard"


@dataclass
class TrainPlan:
    """A resolved plan: the budget's name, the config, the folds, and why this budget."""

    budget: str
    config: TrainConfig
    folds: int
    why: str

    def steps(self) -> int:
        """Optimiser steps of every model the plan trains (folds and final model)."""
        return (self.folds + 1) * self.config.epochs * self.config.steps_per_epoch


def plan_training(
    budget: str = "auto", given: dict | None = None, folds: int | None = None
) -> TrainPlan:
    """The plan of ``budget`` with the explicitly ``given`` config fields and ``folds`` on top.

    Raises
    ------
    NoisyFixError
        An unknown budget name.
    """
    given = dict(given or {})
    if budget not in CHOICES:
        raise NoisyFixError(f"unknown budget {budget!r}; choose from {', '.join(CHOICES)}")
    why = "chosen"
    if budget == "auto":
        budget = auto_budget(given.get("device", "auto"))
        why = f"auto: training on the {'CPU' if budget == 'quick' else 'GPU'}"
    spec = BUDGETS[budget]
    fields = spec.fields()
    if given.get("arch") == "maskrcnn":  # the quick budget's light encoder is the U-Net's only
        fields["encoder"] = "resnet18"
    config = TrainConfig(**{**fields, **given})
    return TrainPlan(budget, config, spec.folds if folds is None else int(folds), why)


def given_plan(config: TrainConfig, folds: int | None = None) -> TrainPlan:
    """A plan of settings given in full (no budget): ``folds`` default to the standard's."""
    folds = BUDGETS["standard"].folds if folds is None else int(folds)
    return TrainPlan("custom", config, folds, "settings given")


def time_step(config: TrainConfig, in_channels: int, n_classes: int, repeats: int = 2) -> float:
    """Seconds of one optimiser step of ``config``'s network on its device (after a warm-up)."""
    import torch

    from .device import resolve_device
    from .networks import build_model

    device = resolve_device(config.device)
    side = config.image_size or 256
    torch.manual_seed(config.seed)
    model = build_model(config, in_channels, n_classes).to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)
    x = torch.randn(config.batch_size, in_channels, side, side, device=device)
    step_loss = _loss_of(config, model, x, n_classes)
    elapsed = 0.0
    for i in range(repeats + 1):
        start = time.perf_counter()
        loss = step_loss()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if i:  # the first step builds caches and is not counted
            elapsed += time.perf_counter() - start
    return elapsed / repeats


def _loss_of(config: TrainConfig, model, x, n_classes: int):
    """The loss of one timed step on the batch ``x``: cross-entropy on random labels, or for
    Mask R-CNN torchvision's losses on a grid of square objects. A MixMatch step does what
    :func:`~.mixmatch.mixmatch_step` does with the network: ``K`` forward passes of the batch
    without gradient (the label guess), then one forward-backward pass over ``K`` times it."""
    import torch

    if config.arch == "maskrcnn":
        from .maskrcnn_targets import grid_ids, instance_targets

        target = {k: v.to(x.device) for k, v in instance_targets(grid_ids(x.shape[-1])).items()}
        return lambda: sum(model.losses(x, [target] * x.shape[0]).values())
    views = 1
    if config.strategy == "mixmatch":
        from .mixmatch import MIXMATCH

        views = MIXMATCH.k
    mixed = x.repeat(views, 1, 1, 1) if views > 1 else x
    y = torch.randint(0, n_classes, (mixed.shape[0], *x.shape[-2:]), device=x.device)

    def loss():
        if views > 1:
            with torch.no_grad():
                for _ in range(views):
                    model(x)
        return torch.nn.functional.cross_entropy(model(mixed), y)

    return loss


def estimate_seconds(plan: TrainPlan, in_channels: int, n_classes: int) -> float:
    """Seconds the plan's optimiser steps take on this machine now (validation and prediction
    add a little; early stopping can end a model sooner)."""
    return plan.steps() * time_step(plan.config, in_channels, n_classes)


def device_name(device: str) -> str:
    """The device training will run on (``cpu``, ``cuda``, ``cuda:1``)."""
    from .device import resolve_device

    return str(resolve_device(device))


def duration_text(seconds: float) -> str:
    """``about 40 s``, ``about 7 min``, ``about 1.5 h``."""
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"


def plan_text(plan: TrainPlan, seconds: float | None = None) -> str:
    """What the plan trains, on which device, and its estimated duration when measured."""
    c = plan.config
    text = (
        f"budget {plan.budget} ({plan.why}): {plan.folds} folds + a final model, {c.epochs} "
        f"epochs x {c.steps_per_epoch} steps of {c.batch_size} crops of "
        f"{c.image_size or 'whole'}-px images, {c.encoder} on {device_name(c.device)}"
    )
    return text if seconds is None else f"{text}; estimated {duration_text(seconds)}"
