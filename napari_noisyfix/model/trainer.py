"""The training loop: a generator of :class:`~napari_noisyfix.progress.Progress` returning a TrainResult.

Cancel by closing the generator (stop iterating): :func:`train` writes nothing, so there is never
anything half-written; resume by passing the returned (or a checkpoint's) state as ``init_state``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import NoisyFixError
from ..progress import Progress
from ..splits import train_val_test_split
from .config import TrainConfig
from .data import Sample, crop_size, load_samples
from .device import seed_everything
from .distributed import current_ranks
from .losses import loss_state
from .mixmatch import mixmatch_step
from .networks import build_model, load_network_state
from .noise_level import apply_estimate, contradiction_maps, estimate_noise, warmup_config
from .norm_stats import estimate_statistics, freeze_norm_statistics, statistics_batches
from .scoring import score_samples
from .steps import StepContext, train_step
from .strategies import curriculum_fraction, curriculum_pool


@dataclass
class TrainResult:
    """What a training run produced.

    ``state`` holds CPU tensors of the best epoch (by validation Dice; the last epoch without a
    validation split); ``history`` one dict per epoch with ``epoch``, ``phase``, ``train_loss``,
    ``train_dice``, ``val_loss``, ``val_dice`` (None without validation), ``pool`` (images
    sampled), ``filtered`` (share of pixels the confidence filter lowered), ``strength`` (the
    robust strength in force: 1 for a fixed recipe with strategies, 0 for plain, the estimate's
    for an adaptive run once set), with the T-Loss, ``tloss_nu`` (its learned degree of
    freedom at the end of the epoch) and, with MixMatch, the epoch means of its loss terms
    ``mixmatch_supervised``, ``mixmatch_unlabelled`` and weight ``mixmatch_lambda_u``
    (``filtered`` is then the share of pixels left unlabelled). ``state`` also carries the
    loss's learned parameters (keys ``loss.*``), so they are saved and restored with the
    checkpoint. ``noise`` is the adaptive run's :class:`~.noise_level.NoiseEstimate` as a dict
    (None otherwise).
    """

    state: dict
    history: list[dict]
    best_epoch: int
    config: TrainConfig
    in_channels: int
    n_classes: int
    train_names: list[str] = field(default_factory=list)
    val_names: list[str] = field(default_factory=list)
    steps: int = 0
    noise: dict | None = None

    def strength_text(self) -> str:
        """The robust strength this run used, in plain words."""
        if self.noise is not None:
            return self.noise["describe"]
        cfg = self.config
        if cfg.arch == "maskrcnn":
            return "Mask R-CNN with torchvision's own losses: no noise-robust strategy"
        if cfg.auto_strength:
            return "adaptive recipe, stopped before its warm-up ended: plain cross-entropy"
        if cfg.filter_threshold > 0 or cfg.pseudo_threshold > 0 or cfg.loss != "ce":
            return f"fixed recipe {cfg.strategy!r} (loss {cfg.loss}), strength not estimated"
        return "plain training (cross-entropy)"


def split_validation(project, names: list[str], config: TrainConfig) -> tuple[list, list]:
    """Patient-level (train, validation) split of ``names``; no validation if it cannot be made."""
    patients = {n: project.patient(n) for n in names}
    if config.val_fraction <= 0 or len(set(patients.values())) < 3:
        return list(names), []
    fg = {n: float((project.mask(n) > 0).mean()) for n in names}
    train, val, _ = train_val_test_split(
        names, patients, val=config.val_fraction, test=0.0, seed=config.seed, fg=fg
    )
    return train, val


def train(
    project,
    config: TrainConfig,
    names: list[str] | None = None,
    val_names: list[str] | None = None,
    init_state: dict | None = None,
    weights: dict[str, np.ndarray] | None = None,
    trusted: dict[str, np.ndarray] | None = None,
    sampling: dict[str, float] | None = None,
    noise=None,
):
    """Train a network on ``names`` of ``project``; yields Progress, returns a :class:`TrainResult`.

    Parameters
    ----------
    project : Project
        Source of images and working masks.
    config : TrainConfig
        Network, schedule and strategies. ``arch="maskrcnn"`` needs an instance project and
        trains with the plain recipe (:func:`~.maskrcnn.maskrcnn_config`).
    names : list of str, optional
        Images to use (default: all). Without ``val_names`` a patient-level validation share
        (``config.val_fraction``) is split off them; pass ``val_names=[]`` for none.
    init_state : dict, optional
        Weights to start from (resume, incremental update).
    weights, trusted : dict, optional
        Per-image pixel weight maps and trusted-pixel maps (see :func:`~.data.load_samples`).
    sampling : dict, optional
        Relative sampling frequency per image (default: uniform).
    noise : NoiseEstimate, optional
        An adaptive run's label-noise estimate made beforehand (the folds' out-of-fold
        predictions, :func:`~.noise_level.out_of_fold_estimate`): the run sets its strength from
        it when the warm-up ends instead of estimating with its own warm-up model.
    """
    maskrcnn = config.arch == "maskrcnn"
    if maskrcnn:
        from .maskrcnn import maskrcnn_config

        config = maskrcnn_config(project, config)
    names = list(project.names if names is None else names)
    if val_names is None:
        names, val_names = split_validation(project, names, config)
    if not names:
        raise NoisyFixError(f"{project.root}: no images to train on")
    if config.synthetic == "add":  # only the pairs of training images; validation stays real
        names = names + project.synthetic_names(sources=names)
    ranks = current_ranks()  # several processes under torchrun: see .distributed
    device = ranks.device(config.device)
    rng = seed_everything(config.seed)
    samples = load_samples(project, names, weights, trusted, instance_ids=maskrcnn)
    val_samples = load_samples(project, list(val_names))
    model, saved_loss = _make_model(project, config, init_state, device)
    ctx = StepContext.create(model, warmup_config(config), device, project.n_classes, ranks)
    if saved_loss and isinstance(ctx.loss_fn, torch.nn.Module):
        ctx.loss_fn.load_state_dict(saved_loss)
    size = crop_size(samples + val_samples, config.image_size)
    probs = _sampling_probs(samples, sampling)
    loop = _EpochLoop(config, samples, val_samples, ctx, rng, size, probs, noise)
    yield from loop.run()
    state = loop.best_state()
    if config.norm_stats == "project":
        batches = statistics_batches(rng, samples + val_samples, size, config.batch_size)
        text = f"estimating the batch-norm statistics on {sum(map(len, batches))} images"
        yield Progress("train", loop.step, loop.total, text)
        state = project_statistics(ctx, state, batches)
    return TrainResult(
        state=state,
        history=loop.history,
        best_epoch=loop.best_epoch,
        config=config,
        in_channels=project.in_channels,
        n_classes=project.n_classes,
        train_names=names,
        val_names=list(val_names),
        steps=loop.step,
        noise=loop.noise,
    )


def _make_model(project, config, init_state, device):
    """The network (on ``device``, in training mode) and the loss parameters ``init_state``
    carried."""
    model = build_model(config, project.in_channels, project.n_classes)
    saved_loss = {}
    if init_state is not None:
        try:
            saved_loss = load_network_state(model, init_state)
        except RuntimeError as exc:
            raise NoisyFixError(
                f"the starting weights do not fit a {config.arch}/{config.encoder} network"
            ) from exc
    if config.norm_stats == "frozen":
        freeze_norm_statistics(model)
    return model.to(device).train(), saved_loss


def project_statistics(ctx: StepContext, state: dict, batches) -> dict:
    """``state`` with its batch-norm statistics estimated again for its weights on ``batches``
    (:func:`.norm_stats.estimate_statistics`; every process draws the same batches, so all
    get the same statistics)."""
    model = ctx.model
    load_network_state(model, state)
    estimate_statistics(model, batches, ctx.device, ctx.amp)
    buffers = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return {**state, **buffers}


def _sampling_probs(samples: list[Sample], sampling: dict | None) -> np.ndarray:
    freq = np.array([float((sampling or {}).get(s.name, 1.0)) for s in samples])
    if (freq < 0).any() or freq.sum() <= 0:
        raise NoisyFixError("sampling frequencies must be >= 0 and not all 0")
    return freq / freq.sum()


class _EpochLoop:
    """Epochs of steps over a pool of images, with validation and early stopping."""

    def __init__(self, config, samples, val_samples, ctx, rng, size, probs, estimate=None):
        self.config, self.samples, self.val_samples = config, samples, val_samples
        self.ctx, self.rng, self.size, self.probs = ctx, rng, size, probs
        self.estimate = estimate  # made beforehand (out-of-fold), else at the warm-up's end
        self.clean = np.array([bool(s.trusted.all()) for s in samples])
        self.history: list[dict] = []
        self.step, self.best_epoch, self.best_dice, self._best = 0, -1, -math.inf, None
        self.total = config.epochs * config.steps_per_epoch
        self.noise: dict | None = None
        self.step_fn = mixmatch_step if config.strategy == "mixmatch" else train_step
        if config.arch == "maskrcnn":
            from .maskrcnn_targets import maskrcnn_step

            self.step_fn = maskrcnn_step

    def run(self):
        wait = 0
        for epoch in range(self.config.epochs):
            record = yield from self._epoch(epoch)
            self.history.append(record)
            improved = self._keep_best(epoch, record)
            wait = 0 if improved else wait + 1
            metrics = {k: v for k, v in record.items() if v is not None}
            yield Progress("train", self.step, self.total, _describe(record), metrics)
            if self.val_samples and wait >= self.config.patience:
                break

    def _epoch(self, epoch: int):
        phase, pool = self._pool(epoch)
        active = epoch >= self.config.filter_warmup and phase == "noisy"
        if active and self.config.auto_strength and self.noise is None:
            yield Progress("train", self.step, self.total, "estimating the label noise")
            self._set_strength()
        sums: dict[str, float] = {}
        for _ in range(self.config.steps_per_epoch):
            batch = self._draw(pool)
            stats = self.step_fn(self.ctx, batch, self.rng, strategies_on=active)
            for key, value in stats.items():
                sums[key] = sums.get(key, 0.0) + value
            self.step += 1
            yield Progress("train", self.step, self.total, f"epoch {epoch + 1}", stats)
        mean = {k: v / self.config.steps_per_epoch for k, v in sums.items()}
        record = {"epoch": epoch, "phase": phase, "pool": len(pool)}
        record.update(train_loss=mean.pop("loss"), train_dice=mean.pop("dice"), **mean)
        record["strength"] = self._strength(active)
        if isinstance(self.ctx.loss_fn, torch.nn.Module) and hasattr(self.ctx.loss_fn, "nu"):
            record["tloss_nu"] = self.ctx.loss_fn.nu
        record.update(self._validate())
        return record

    def _set_strength(self) -> None:
        """Set the strength from the estimate given to the run, else from the warm-up model's."""
        ctx = self.ctx
        estimate = self.estimate or ctx.ranks.on_main(self._estimate_noise)
        ctx.set_config(apply_estimate(ctx.config, estimate))
        self.noise = {**estimate.to_dict(), "describe": estimate.describe()}

    def _estimate_noise(self):
        judged = self.val_samples or self.samples
        source = "validation patients" if self.val_samples else "training images, in-sample"
        ctx = self.ctx
        maps = contradiction_maps(ctx.model, judged, self.size[0], ctx.device, ctx.amp)
        return estimate_noise(maps, self.config.filter_threshold, self.config.dice_weight, source)

    def _strength(self, active: bool) -> float:
        if self.config.auto_strength:
            return float(self.noise["strength"]) if active and self.noise else 0.0
        cfg = self.config
        robust = cfg.filter_threshold > 0 or cfg.pseudo_threshold > 0 or cfg.loss != "ce"
        return 1.0 if robust and (active or cfg.loss != "ce") else 0.0

    def _pool(self, epoch: int) -> tuple[str, list[int]]:
        every = list(range(len(self.samples)))
        if epoch < self.config.clean_pretrain_epochs and self.clean.any():
            return "clean", np.flatnonzero(self.clean).tolist()
        if not self.config.curriculum:
            return "noisy", every
        start = self.config.clean_pretrain_epochs if self.clean.any() else 0
        fraction = curriculum_fraction(
            epoch - start, self.config.epochs - start, self.config.curriculum_start
        )
        if fraction >= 1:
            return "noisy", every
        losses, _ = self._score(self.samples)
        return "noisy", curriculum_pool(losses, self.clean, fraction, self.config.batch_size)

    def _draw(self, pool: list[int]):
        p = self.probs[pool] / self.probs[pool].sum()
        idx = self.rng.choice(pool, size=self.config.batch_size, replace=True, p=p)
        return [int(i) for i in idx], self.samples, self.size

    def _validate(self) -> dict:
        if not self.val_samples:
            return {"val_loss": None, "val_dice": None}
        losses, dices = self._score(self.val_samples)
        return {"val_loss": float(losses.mean()), "val_dice": float(dices.mean())}

    def _score(self, samples):
        """Per-image losses and Dice (:func:`.score_samples`), computed by the main process and
        shared, so that every process takes the same decisions from them."""
        ctx = self.ctx
        return ctx.ranks.on_main(
            score_samples, ctx.model, samples, self.size[0], ctx.device, ctx.amp
        )

    def _keep_best(self, epoch: int, record: dict) -> bool:
        score = record["val_dice"] if record["val_dice"] is not None else epoch
        if score <= self.best_dice + 1e-6 and self._best is not None:
            return False
        self.best_dice, self.best_epoch = score, epoch
        self._best = copy.deepcopy(
            {k: v.detach().cpu() for k, v in self.ctx.model.state_dict().items()}
        )
        self._best.update(loss_state(self.ctx.loss_fn))
        return True

    def best_state(self) -> dict:
        """Weights of the best epoch (CPU tensors)."""
        return self._best


def _describe(record: dict) -> str:
    text = f"epoch {record['epoch'] + 1} ({record['phase']}): loss {record['train_loss']:.4f}"
    if record["val_dice"] is not None:
        text += f", val loss {record['val_loss']:.4f}, val Dice {record['val_dice']:.3f}"
    return text
