"""MixMatch (Berthelot et al. 2019) on noisy segmentation masks: ``--strategy mixmatch``.

MixMatch learns from a labelled and an unlabelled set. Here the two sets are pixels of the same
crops:

- **labelled**: trusted pixels (clean-subset images, reviewed pixels, thin structures) and every
  pixel whose given label the model does not confidently contradict;
- **unlabelled**: once the filter warm-up is over, the untrusted pixels where the guessed label
  puts more than ``filter_threshold`` on a class the given mask does not (exactly the pixels the
  robust recipe's confidence filter would down-weight, :func:`~.strategies.contradicted`). Their
  given label is dropped and replaced by a guess.

One step (:func:`mixmatch_step`): ``K`` augmented views of the batch (a random flip / quarter
turn per crop and an intensity jitter); label guessing averages the ``K`` softmax predictions
after mapping each back through its exact inverse flip / turn (:func:`guess_labels`) and
sharpens the average with temperature ``T`` (:func:`sharpen`); each view's target is the given
label on labelled pixels and the sharpened guess on unlabelled ones, moved into the view's frame.
The ``K`` views are concatenated and mixed with a shuffled copy of themselves (MixUp, images and
per-pixel targets with the same ``lambda' = max(lambda, 1 - lambda)``, ``lambda ~ Beta(alpha,
alpha)``); a mixed pixel is labelled or unlabelled as the dominant (``lambda'``) crop's pixel
is. The loss is the project's loss (``config.loss``) on the labelled pixels plus ``lambda_u`` x
the squared distance between the softmax and the mixed target on the unlabelled pixels, divided
by the number of classes (the paper's L_U, :func:`unlabelled_loss`). ``lambda_u`` ramps up
linearly from 0 (:func:`ramp`).

The paper averages L_U over the unlabelled examples, a set as large as the labelled one. Here
the unlabelled pixels are a few per cent of the batch, and a mean over them alone gives each one
(labelled / unlabelled pixels) times more weight, a weight that grows as fewer pixels are
flagged: at ``lambda_u`` = 100 such a run collapsed to predicting background everywhere (a
measure-3 run on dsb2018_nuclei_fluo, fast budget, commit 11095ba). So L_U sums over the
unlabelled pixels and divides by all counted pixels of the mixed batch, as the supervised mean
does: an unlabelled pixel weighs ``lambda_u / C`` times a labelled one, however many there are.

Guesses are made with the network in training mode (dropout on), without gradient. Each step
costs ``K`` forward passes without gradient and one forward-backward pass over ``K`` times the
batch: in that measure-3 run 80 steps took 614 s against 312 s for the robust recipe (CPU).

In several processes (:mod:`.distributed`) every process draws the same global batch, guesses
its labels and mixes it (the guessing passes run on the whole batch in each process, so that the
mix is the one-process mix), then trains on its own contiguous share of the mixed views through
DistributedDataParallel. Each term's loss is scaled by its share of the pixels it averages over
(labelled weight for the supervised term, counted pixels for L_U), so that DDP's mean of the
shares' gradients is the global batch's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .augment import draw_moves, intensity_jitter, mixup, move_each, unmove_each
from .data import make_batch
from .device import autocast
from .losses import prepare_target
from .steps import StepContext, batch_dice, optimise
from .strategies import consistency_loss, contradicted
from .thin import thin_batch


@dataclass(frozen=True)
class MixMatchParams:
    """MixMatch's fixed settings, not tuned on the shared data sets.

    ``k`` = 2 augmentations, temperature ``t`` = 0.5, ``alpha`` = 0.75 and ``lambda_u`` = 100
    are the values Berthelot et al. (2019, Sec. 4.1) use and recommend as starting points;
    they ramp ``lambda_u`` linearly over their first 16,000 steps (under 2% of their run).
    Our runs are a few hundred steps, so ``rampup`` is our choice: the share of the run's steps,
    counted from the first step with unlabelled pixels (the end of the filter warm-up), over
    which ``lambda_u`` rises linearly from 0 to its maximum.
    """

    k: int = 2
    t: float = 0.5
    alpha: float = 0.75
    lambda_u: float = 100.0
    rampup: float = 0.25


MIXMATCH = MixMatchParams()


def sharpen(probs: torch.Tensor, t: float) -> torch.Tensor:
    """``p_c^(1/t) / sum_j p_j^(1/t)`` over the class axis 1 (``t`` < 1 lowers the entropy)."""
    return F.softmax(torch.log(probs.clamp_min(1e-12)) / t, dim=1)


def guess_labels(view_probs: list[torch.Tensor], moves: list[list]) -> torch.Tensor:
    """Mean of the views' (N, C, H, W) probabilities, each mapped back to the crops' frame.

    ``moves[k]`` holds the (quarter turns, flip) pair of every crop of view ``k``
    (:func:`~.augment.draw_moves`); flips and quarter turns are inverted exactly.
    """
    back = [unmove_each(p, m) for p, m in zip(view_probs, moves, strict=True)]
    return torch.stack(back).mean(dim=0)


def ramp(done: int, total: int, share: float) -> float:
    """Linear ramp from 0 to 1 over ``ceil(share * total)`` steps (1 at once when that is 0)."""
    length = math.ceil(share * total)
    return 1.0 if length <= 0 else min(1.0, done / length)


def unlabelled_loss(probs, targets, unlabelled, counted) -> torch.Tensor:
    """``sum over unlabelled pixels of ||p - q||^2 / (C x number of counted pixels)``.

    ``probs`` and ``targets`` are (N, C, H, W); ``unlabelled`` and ``counted`` (N, H, W) 0/1
    maps (the pixels of the L2 term; every pixel either loss counts)."""
    share = unlabelled.sum() / counted.sum().clamp_min(1)
    return consistency_loss(probs, targets, unlabelled) * share / probs.shape[1]


def _views(ctx: StepContext, images, rng, params: MixMatchParams):
    """``params.k`` augmented copies of the batch and the flip / turn of each crop of each."""
    cfg = ctx.config
    square = images.shape[-1] == images.shape[-2]
    moves = [
        draw_moves(rng, images.shape[0], cfg.augment_flips, cfg.augment_rot90, square)
        for _ in range(params.k)
    ]
    views = [intensity_jitter(rng, move_each(images, m), cfg.augment_intensity) for m in moves]
    return views, moves


def _predict(ctx: StepContext, images: torch.Tensor) -> torch.Tensor:
    with autocast(ctx.device, ctx.amp):
        logits = ctx.model(images.to(ctx.device))
    return logits


def mixmatch_batch(ctx: StepContext, batch, rng, strategies_on: bool, params=MIXMATCH):
    """The mixed training batch of one step.

    Returns
    -------
    images, targets : (K N, C, H, W) tensors on the device
        Mixed views and their mixed soft targets.
    labelled, unlabelled : (K N, H, W)
        Weights of the supervised loss (the project's pixel weights on labelled pixels) and the
        0/1 mask of the unlabelled loss, both of the dominant crop.
    share : float
        Share of the valid pixels left unlabelled.
    """
    indices, samples, size = batch
    images, masks, weights, trusted = make_batch(rng, samples, indices, size)
    if ctx.uses_strategies():
        trusted = trusted | thin_batch(masks, ctx.n_classes)
    soft, weights = prepare_target(masks, weights, ctx.n_classes)
    views, moves = _views(ctx, images, rng, params)
    with torch.no_grad():
        probs = [F.softmax(_predict(ctx, v).float(), dim=1).cpu() for v in views]
    guess = guess_labels(probs, moves)
    unlabelled = torch.zeros_like(trusted)
    if strategies_on:
        unlabelled = contradicted(guess, soft, trusted, ctx.config.filter_threshold)
        unlabelled &= weights > 0
    target = torch.where(unlabelled.unsqueeze(1), sharpen(guess, params.t), soft)
    moved = [_moved(target, weights, unlabelled, m) for m in moves]
    targets, weights_k, unlabelled_k = (torch.cat(parts) for parts in zip(*moved, strict=True))
    (mixed, mixed_t), _, _ = mixup(rng, [torch.cat(views), targets], params.alpha)
    labelled_w = weights_k * (~unlabelled_k)
    valid = float((weights > 0).sum())
    share = float(unlabelled.sum()) / valid if valid else 0.0
    dev = ctx.device
    return mixed.to(dev), mixed_t.to(dev), labelled_w.to(dev), unlabelled_k.float().to(dev), share


def _moved(target, weights, unlabelled, moves):
    return move_each(target, moves), move_each(weights, moves), move_each(unlabelled, moves)


def mixmatch_step(ctx: StepContext, batch, rng: np.random.Generator, strategies_on: bool) -> dict:
    """One MixMatch optimiser step; returns ``loss``, ``dice``, ``filtered`` (the unlabelled
    share) and the terms ``mixmatch_supervised``, ``mixmatch_unlabelled``, ``mixmatch_lambda_u``.
    In several processes ``loss``, ``dice`` and ``filtered`` are the global batch's
    (:meth:`.distributed.Ranks.combine`), the two terms those of this process's share."""
    params = MIXMATCH
    *views, share = mixmatch_batch(ctx, batch, rng, strategies_on, params)
    part = ctx.ranks.part(len(views[0]))  # the whole mixed batch in one process
    images, targets, labelled, unlabelled = (t[part] for t in views)
    with autocast(ctx.device, ctx.amp):
        logits = ctx.net(images)
    probs = F.softmax(logits.float(), dim=1)
    supervised = ctx.loss_fn(logits, targets, labelled)
    counted = ((labelled > 0) | (unlabelled > 0)).float()
    unsupervised = unlabelled_loss(probs, targets, unlabelled, counted)
    total = ctx.config.epochs * ctx.config.steps_per_epoch
    lambda_u = params.lambda_u * ramp(ctx.strategy_steps, total, params.rampup)
    loss = supervised + lambda_u * unsupervised
    stats = {
        "loss": float(loss.detach()),
        "dice": batch_dice(probs.detach(), targets, labelled),
        "filtered": share,
        "mixmatch_supervised": float(supervised.detach()),
        "mixmatch_unlabelled": float(unsupervised.detach()),
        "mixmatch_lambda_u": lambda_u,
    }
    labelled_share, stats = ctx.ranks.combine(stats, labelled)
    (counted_share,) = ctx.ranks.shares(ctx.device, float(counted.sum()))
    optimise(ctx, labelled_share * supervised + lambda_u * counted_share * unsupervised)
    ctx.strategy_steps += int(strategies_on)
    return stats
