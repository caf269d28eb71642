"""One optimisation step: augmentation, MixUp, filtering, pseudo-labels, consistency, AMP.

Thin structures of the labels (:mod:`.thin`) join the trusted pixels of every batch, so that the
confidence filter and pseudo-labels never touch them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .augment import augment_batch, dihedral, draw_dihedral, intensity_jitter, mixup, undo_dihedral
from .config import TrainConfig
from .data import make_batch
from .device import autocast
from .distributed import ONE, Ranks
from .losses import LossFn, make_loss, prepare_target
from .strategies import confidence_filter, consistency_loss, pseudo_label
from .thin import thin_batch


@dataclass
class StepContext:
    """Model, optimiser, scheduler, scaler and loss shared by the steps of a run.

    ``model`` is the bare network (evaluated, saved); ``net`` the one a training step calls:
    ``model`` itself, or wrapped in DistributedDataParallel when ``ranks`` are several processes
    (:mod:`.distributed`), each of which then trains on its share of every batch.
    """

    model: torch.nn.Module
    config: TrainConfig
    device: torch.device
    n_classes: int
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    loss_fn: LossFn
    amp: bool
    ranks: Ranks = ONE
    net: torch.nn.Module | None = None
    #: Steps taken so far with the strategies on (MixMatch ramps its unlabelled weight on them).
    strategy_steps: int = 0

    def __post_init__(self) -> None:
        if self.net is None:
            self.net = self.ranks.wrap(self.model)

    @classmethod
    def create(cls, model, config: TrainConfig, device: torch.device, n_classes: int, ranks=ONE):
        """AdamW with a linear warm-up, then cosine decay over the rest of the run; a scaler
        for CUDA AMP.

        A fresh AdamW's first steps move every weight by about the full learning rate whatever
        its gradient's size (its second-moment estimate rests on one gradient); a model that is
        trained already (an update) would be jolted away from what it learnt, so its update
        warms up. A loss with learned parameters (the T-Loss's ``nu``) is optimised with the
        network, without weight decay.
        """
        amp = bool(config.amp and device.type == "cuda")
        loss_fn = make_loss(config)
        groups = [{"params": list(model.parameters())}]
        if isinstance(loss_fn, torch.nn.Module):
            loss_fn.to(device)
            groups.append({"params": list(loss_fn.parameters()), "weight_decay": 0.0})
        opt = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
        total = config.epochs * config.steps_per_epoch
        warm = min(config.warmup_steps, total - 1)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=max(total - warm, 1), eta_min=config.lr / 20
        )
        if warm > 0:
            ramp = torch.optim.lr_scheduler.LinearLR(opt, 1.0 / (warm + 1), total_iters=warm)
            sched = torch.optim.lr_scheduler.SequentialLR(opt, [ramp, sched], milestones=[warm])
        scaler = torch.amp.GradScaler("cuda", enabled=amp)
        return cls(model, config, device, n_classes, opt, sched, scaler, loss_fn, amp, ranks)

    def set_config(self, config: TrainConfig) -> None:
        """New strategy settings mid-run (the adaptive strength); a loss without learned
        parameters is rebuilt from them, a learned one (the T-Loss) keeps its state."""
        self.config = config
        if not isinstance(self.loss_fn, torch.nn.Module):
            self.loss_fn = make_loss(config)

    def uses_strategies(self) -> bool:
        """Whether filtering or pseudo-labels can ever change a target or a weight in this run."""
        cfg = self.config
        return cfg.filter_threshold > 0 or cfg.pseudo_threshold > 0 or bool(cfg.auto_strength)


def prepare_batch(ctx: StepContext, batch, rng: np.random.Generator):
    """Crops -> augmented tensors on the device: images, soft targets, weights, trusted.

    The whole batch is drawn and augmented (so every process consumes the same random draws);
    the device gets this process's share of it (all of it for one process).
    """
    indices, samples, size = batch
    images, masks, weights, trusted = make_batch(rng, samples, indices, size)
    cfg = ctx.config
    images, masks, weights, trusted = augment_batch(
        rng, [images, masks, weights, trusted], cfg.augment_flips, cfg.augment_rot90
    )
    images = intensity_jitter(rng, images, cfg.augment_intensity)
    if ctx.uses_strategies():
        trusted = trusted | thin_batch(masks, ctx.n_classes)
    soft, weights = prepare_target(masks, weights, ctx.n_classes)
    if cfg.mixup_alpha > 0 and rng.random() < cfg.mixup_prob:
        (images, soft, weights), _, perm = mixup(rng, [images, soft, weights], cfg.mixup_alpha)
        trusted = trusted & trusted[perm]
    part = ctx.ranks.part(len(indices))
    return tuple(t[part].to(ctx.device) for t in (images, soft, weights, trusted))


def apply_strategies(ctx: StepContext, probs, soft, weights, trusted):
    """Confidence filtering and pseudo-labels; returns targets, weights and the filtered share."""
    cfg = ctx.config
    filtered = 0.0
    if cfg.filter_threshold > 0:
        new = confidence_filter(
            probs, soft, weights, trusted, cfg.filter_threshold, cfg.filter_mode, cfg.filter_weight
        )
        filtered = float(((new < weights) & (weights > 0)).float().mean())
        weights = new
    if cfg.pseudo_threshold > 0:
        soft = pseudo_label(probs, soft, trusted, cfg.pseudo_threshold, cfg.pseudo_weight)
    return soft, weights, filtered


def second_view_loss(ctx: StepContext, images, probs, weights, rng) -> torch.Tensor:
    """Consistency between the batch and a re-augmented view of it (mapped back before comparing)."""
    cfg = ctx.config
    k, flip = draw_dihedral(rng, True, cfg.augment_rot90, images.shape[-1] == images.shape[-2])
    view = dihedral(intensity_jitter(rng, images.cpu(), max(cfg.augment_intensity, 0.1)), k, flip)
    with autocast(ctx.device, ctx.amp):
        logits = ctx.model(view.to(ctx.device))
    other = undo_dihedral(F.softmax(logits.float(), dim=1), k, flip)
    return consistency_loss(probs, other, (weights > 0).float())


def train_step(ctx: StepContext, batch, rng: np.random.Generator, strategies_on: bool) -> dict:
    """One optimiser step; returns ``loss``, ``dice`` (batch foreground Dice) and ``filtered``
    (of the global batch when several processes train: :meth:`.distributed.Ranks.combine`)."""
    images, soft, weights, trusted = prepare_batch(ctx, batch, rng)
    with autocast(ctx.device, ctx.amp):
        logits = ctx.net(images)
    probs = F.softmax(logits.float(), dim=1)
    filtered = 0.0
    if strategies_on:
        soft, weights, filtered = apply_strategies(ctx, probs.detach(), soft, weights, trusted)
    loss = ctx.loss_fn(logits, soft, weights)
    if ctx.config.consistency_weight > 0:
        loss = loss + ctx.config.consistency_weight * second_view_loss(
            ctx, images, probs, weights, rng
        )
    stats = {"loss": float(loss.detach()), "dice": batch_dice(probs, soft, weights)}
    stats["filtered"] = filtered
    share, stats = ctx.ranks.combine(stats, weights)
    optimise(ctx, loss * share)
    return stats


def optimise(ctx: StepContext, loss: torch.Tensor) -> None:
    """Backward pass of ``loss`` (scaled under AMP), one optimiser and one scheduler step."""
    ctx.optimizer.zero_grad(set_to_none=True)
    ctx.scaler.scale(loss).backward()
    ctx.ranks.average_grads(ctx.loss_fn)
    ctx.scaler.step(ctx.optimizer)
    ctx.scaler.update()
    ctx.scheduler.step()


def batch_dice(probs: torch.Tensor, soft: torch.Tensor, weights: torch.Tensor) -> float:
    """Foreground Dice of the batch's argmax prediction against the (argmax) targets."""
    valid = weights > 0
    pred, target = probs.argmax(1), soft.argmax(1)
    fg_p, fg_t = (pred > 0) & valid, (target > 0) & valid
    total = int(fg_p.sum() + fg_t.sum())
    return 1.0 if total == 0 else 2.0 * float((fg_p & fg_t).sum()) / total
