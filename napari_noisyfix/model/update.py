"""Incremental retraining from the expert's corrections, out-of-fold.

:func:`update` resumes the newest version's models. Pixels an expert reviewed (accepted, edited,
confirmed) and every pixel of a clean-subset image are trusted; unreviewed pixels of the other
images keep a low weight. Every image is replayed (images with reviewed pixels are drawn more
often) so the model does not forget.

The probabilities behind the queue must not come from a model that learnt an image's unreviewed
labels: a model fitted to the noisy masks agrees with them, and the errors still to review would
fade from the queue. So each fold model of the parent (:mod:`.folds`) is resumed on the images
it trained on plus the *reviewed pixels only* of the images it held out, and scores its held-out
images; the final model is resumed on everything and is what exports and new images use. A
version trained before fold models were kept has none: its update scores every image with the
final model (in-sample) and says so in its record.

Before the version is committed, the update guard (:mod:`.update_guard`) judges every updated
model against its parent on held-back patients' whole trusted images (clean-subset images,
images reviewed in full) where there are enough, else on their trusted pixels, and keeps
the parent's weights for a model the update made worse by more than the difference's standard
error; the version records which, with both scores (``meta["guard"]``). ``guard=False`` trains
on every correction and judges nothing.

An update with no correction since its parent is refused. The new version records the
corrections it used, in the checkpoint and in the audit log; its number is reserved when the
update starts and released if it fails or is cancelled.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import NoisyFixError
from ..progress import Progress, restage
from ..reservations import reserve
from .checkpoints import load_checkpoint
from .config import UPDATE_LR_SHARE, TrainConfig, check_norm_stats
from .config import UPDATE_NORM_STATS as NORM_STATS  # read at each update (benchmarks set it)
from .noise_level import fold_config, out_of_fold_estimate
from .trainer import train
from .versions import checkpoint_result, commit_version, predict_names

#: Pixel weights of an update: reviewed pixels, clean-subset images, unreviewed noisy pixels.
TRUSTED_WEIGHT = 3.0
CLEAN_WEIGHT = 1.0
NOISY_WEIGHT = 0.3
#: How much more often an image with reviewed pixels is drawn than one without.
REVIEWED_OVERSAMPLING = 3.0
#: Default length of an update, per model: this share of the schedule the model trained with
#: (at least :data:`MIN_STEPS`), so that retraining every fold model and the final one costs
#: about a fifth of training them again from scratch and the expert keeps working meanwhile.
UPDATE_SHARE = 0.2
MIN_STEPS = 5
#: Share of an update's steps spent warming the learning rate up (the optimiser starts afresh).
WARMUP_SHARE = 0.25
#: Learning rate of the fold models' update, as a share of the final model's. The fold models
#: only score their held-out images: each step on their training images' unreviewed labels
#: also teaches them the noise, and the errors left to review fade from the queue
#: (``benchmarks/update_lr.py`` measures it). The final model, whose proposals and exports must
#: gain from the corrections, takes the full rate.
FOLD_LR_SHARE = 1.0


def schedule_steps(ckpt) -> int:
    """Steps of the training schedule behind a checkpoint (an update's: its first training's)."""
    if "schedule_steps" in ckpt.meta:
        return int(ckpt.meta["schedule_steps"])
    return int(ckpt.config.epochs * ckpt.config.steps_per_epoch)


def schedule_lr(ckpt) -> float:
    """Learning rate of the training behind a checkpoint (an update's: its first training's), so
    that the rate of a chain of updates does not shrink by ``lr_share`` at every link."""
    if "schedule_lr" in ckpt.meta:
        return float(ckpt.meta["schedule_lr"])
    return float(ckpt.config.lr)


def default_steps(schedule: int) -> int:
    """Steps per model of an update after a training of ``schedule`` steps."""
    return max(MIN_STEPS, round(UPDATE_SHARE * schedule))


def update_maps(project, names: list[str]) -> tuple[dict, dict]:
    """Per-image weight maps and trusted-pixel maps for an update."""
    weights, trusted = {}, {}
    for name in names:
        reviewed = project.reviewed(name)
        if project.is_clean(name):
            weights[name] = np.full(reviewed.shape, CLEAN_WEIGHT, np.float32)
            weights[name][reviewed] = TRUSTED_WEIGHT
            trusted[name] = np.ones(reviewed.shape, bool)
        else:
            weights[name] = np.where(reviewed, TRUSTED_WEIGHT, NOISY_WEIGHT).astype(np.float32)
            trusted[name] = reviewed
    return weights, trusted


def corrections_used(project, names: list[str]) -> list[dict]:
    """Images with reviewed pixels or saved corrections, and how many pixels were reviewed."""
    used = []
    for name in names:
        n_reviewed = int(project.reviewed(name).sum())
        if n_reviewed or project.has_correction(name):
            used.append(
                {
                    "image": name,
                    "reviewed_pixels": n_reviewed,
                    "corrected": project.has_correction(name),
                }
            )
    return used


def given_settings(project, given: dict) -> TrainConfig | None:
    """An update's settings when some were set explicitly (``given``, e.g. ``noisyfix update
    --lr``): the newest version's, with ``given`` applied; ``None`` (the version's own) without."""
    version = project.latest_model_version()
    if not given or version is None:
        return None
    return TrainConfig.from_dict(
        {**load_checkpoint(project.model_dir(version)).config.to_dict(), **given}
    )


def update_config(
    base: TrainConfig,
    config: TrainConfig | None,
    steps: int,
    lr_share: float = UPDATE_LR_SHARE,
    base_lr: float | None = None,
    norm_stats: str | None = None,
) -> TrainConfig:
    """Settings of an update: ``config`` (or the checkpoint's) with the checkpoint's network.

    One epoch of ``steps`` steps at ``lr_share`` of the rate (``config``'s when given, else
    ``base_lr``, the first training's, else the checkpoint's), warming up over
    :data:`WARMUP_SHARE` of them, strategies active from the start (the model is trained
    already), no clean-subset phase and no curriculum; batch-norm statistics from
    ``norm_stats`` (default :data:`NORM_STATS`).
    """
    if steps < 1:
        raise NoisyFixError(f"update needs at least 1 step, got {steps}")
    data = (config or base).to_dict()
    for key in ("arch", "encoder", "dropout"):
        data[key] = getattr(base, key)
    data.update(
        encoder_weights=None,
        epochs=1,
        steps_per_epoch=int(steps),
        warmup_steps=int(WARMUP_SHARE * steps),
        norm_stats=NORM_STATS if norm_stats is None else norm_stats,
        lr=(data["lr"] if config is not None or base_lr is None else base_lr) * lr_share,
        clean_pretrain_epochs=0,
        filter_warmup=0,
        curriculum=False,
    )
    return TrainConfig.from_dict(data)


def update(
    project,
    steps: int | None = None,
    config: TrainConfig | None = None,
    lr_share: float = UPDATE_LR_SHARE,
    fold_lr_share: float = FOLD_LR_SHARE,
    guard: bool = True,
    norm_stats: str | None = None,
):
    """Retrain the newest model with the corrections; yields Progress, returns the new version.

    Parameters
    ----------
    project : Project
        A project with at least one model version.
    steps : int, optional
        Optimiser steps per model (default: :func:`default_steps` of the first training's
        schedule).
    config : TrainConfig, optional
        Loss, schedule and strategies (default: those of the checkpoint); the network is
        always the checkpoint's.
    lr_share : float
        The update's learning rate as a share of the configured one (:data:`UPDATE_LR_SHARE`).
    fold_lr_share : float
        The fold models' learning rate as a share of the final model's (:data:`FOLD_LR_SHARE`).
    guard : bool
        Hold back a share of the trusted pixels and keep a parent's weights where the update
        made that model worse on them (:mod:`.update_guard`).
    norm_stats : str, optional
        Where the updated models' batch-norm statistics come from (:data:`.config.NORM_STATS`;
        default :data:`NORM_STATS`).
    """
    for what, share in (("learning-rate", lr_share), ("fold learning-rate", fold_lr_share)):
        if not 0 < share <= 1:
            raise NoisyFixError(f"{what} share {share} not in (0, 1]")
    if norm_stats is not None:
        check_norm_stats(norm_stats)
    shares = (lr_share, fold_lr_share, bool(guard), norm_stats)
    parent = project.latest_model_version()
    if parent is None:
        raise NoisyFixError(f"{project.root}: no model yet; train one before updating")
    reservation = reserve(project, "update")
    try:
        return (yield from _update(project, parent, steps, config, shares, reservation))
    finally:
        reservation.abandon()


def new_corrections(parent_meta: dict, used: list[dict]) -> bool:
    """Whether the corrections ``used`` differ from those the parent version trained on."""
    return bool(used) and used != parent_meta.get("corrections", [])


def held_out_view(weights: dict, trusted: dict, held_out: list[str]) -> tuple[dict, list[str]]:
    """A fold's weights: its held-out images count only where they are trusted (reviewed or
    clean); returns the weights and the held-out images that have any such pixel."""
    view = dict(weights)
    usable = []
    for name in held_out:
        view[name] = np.where(trusted[name], weights[name], 0.0).astype(np.float32)
        if trusted[name].any():
            usable.append(name)
    return view, usable


def held_back_view(weights: dict, trusted: dict, sampling: dict, held: list[str]):
    """The final model's weights, trusted maps and sampling when ``held`` images are held back
    to judge it: their trusted pixels weigh 0 (the rest keeps its weight); an image left with no
    weight at all is never drawn."""
    weights, trusted, sampling = dict(weights), dict(trusted), dict(sampling)
    for name in held:
        weights[name] = np.where(trusted[name], 0.0, weights[name]).astype(np.float32)
        trusted[name] = np.zeros_like(trusted[name])
        sampling[name] = 1.0 if weights[name].any() else 0.0
    return weights, trusted, sampling


def _guarded(project, model: str, parent, updated, sample: tuple, trusted, seed: int):
    """Judge ``updated`` against ``parent``; yields Progress, returns the TrainResult to commit
    and the Judgement.

    ``sample`` is (held-back images, those whose trusted pixels judge it without enough whole
    images): :func:`.update_guard.judge_sample` picks the judge. When the parent is kept, the
    result is the update's with the parent's weights: its settings and history stay the
    update's (the next update starts from them as it would have), and the version's guard
    record says whose weights it holds.
    """
    from .update_guard import judge, judge_sample

    kind, judged = judge_sample(*sample, trusted)
    text = f"judging against the parent on {len(judged)} held-back images ({kind})"
    yield Progress(model, 0, 0, text)
    both = [predict_names(project, r, judged) for r in (parent, updated)]
    judgement = judge(model, project, judged, trusted, *both, seed, kind)
    if judgement.kept == "parent":
        return dataclasses.replace(updated, state=parent.state), judgement
    return updated, judgement


def _update(project, parent: int, steps: int, config, shares: tuple, reservation):
    """The update proper, committed under ``reservation``."""
    from .folds import load_folds
    from .oof import write_fold_record
    from .update_guard import GUARD_SHARE, guard_record, held_back

    ckpt = load_checkpoint(project.model_dir(parent))
    names = project.names
    used = corrections_used(project, names)
    if not new_corrections(ckpt.meta, used):
        raise NoisyFixError(
            f"{project.root}: no corrections since model version {parent}; accept, reject or "
            "edit some regions before retraining"
        )
    schedule = schedule_steps(ckpt)
    steps = default_steps(schedule) if steps is None else steps
    lr_share, fold_lr_share, guard, norm_stats = shares
    base_lr = schedule_lr(ckpt)
    cfg = update_config(ckpt.config, config, steps, lr_share, base_lr, norm_stats)
    weights, trusted = update_maps(project, names)
    reviewed = {u["image"] for u in used}
    sampling = {n: REVIEWED_OVERSAMPLING if n in reviewed else 1.0 for n in names}
    before = ckpt.meta.get("guard", {})
    seed = int(before.get("seed", ckpt.config.seed))  # fixed for the chain of updates
    kept = before.get("held_back", [])
    learnt = {u["image"] for u in ckpt.meta.get("corrections", [])} - set(kept)
    held = held_back(project, names, trusted, GUARD_SHARE, seed, kept, learnt) if guard else []
    judgements = []
    folds = load_folds(project, parent)
    # mixing two images would blend a held-out image's unreviewed labels into the other's target
    # and the folds, which judge the labels, keep the recipe's fixed strength (as in .oof)
    fold_cfg = TrainConfig.from_dict(
        {**fold_config(cfg).to_dict(), "mixup_alpha": 0.0, "lr": cfg.lr * fold_lr_share}
    )
    probs, fold_models, summaries = {}, [], []
    for f in folds:
        stage = f"fold {f.fold + 1}/{len(folds)}"
        view, usable = held_out_view(weights, trusted, f.held_out)
        judged = [n for n in f.held_out if n in held]  # neither this fold's parent nor it learns
        out = set(f.held_out)
        train_names = [n for n in names if n not in out] + [n for n in usable if n not in judged]
        result = yield from restage(
            train(
                project,
                fold_cfg,
                train_names,
                [],
                init_state=f.checkpoint.state,
                weights=view,
                trusted=trusted,
                sampling=sampling,
            ),
            stage,
        )
        if guard:
            prior = checkpoint_result(f.checkpoint)
            result, judgement = yield from _guarded(
                project, stage, prior, result, (judged, judged), trusted, seed
            )
            judgements.append(judgement)
        yield Progress(stage, 0, 0, f"predicting {len(f.held_out)} held-out images")
        probs.update(predict_names(project, result, f.held_out))
        fold_models.append((f.fold, f.held_out, result))
        summaries.append(
            {"fold": f.fold, "held_out": f.held_out, "trained_on": train_names, "parent": parent}
        )
        if guard:
            summaries[-1].update(held_back=judged, kept=judgement.kept)
    final_held = [n for n in held if not project.is_clean(n)]  # the parent learnt clean ones
    final_view = held_back_view(weights, trusted, sampling, final_held)
    # an adaptive final model takes its strength from the updated folds' view of the labels
    estimate = out_of_fold_estimate(project, probs, cfg)
    final = yield from restage(
        train(
            project,
            cfg,
            names,
            [],
            init_state=ckpt.state,
            weights=final_view[0],
            trusted=final_view[1],
            sampling=final_view[2],
            noise=estimate,
        ),
        "final model",
    )
    if guard:  # whole images: the held-back clean ones too, which both models learnt
        prior, sample = checkpoint_result(ckpt), (held, final_held)
        final, judgement = yield from _guarded(
            project, "final model", prior, final, sample, trusted, seed
        )
        judgements.append(judgement)
    if not folds:
        yield Progress("final model", 0, 0, f"predicting {len(names)} images (in-sample)")
        probs = predict_names(project, final, names)
    else:
        write_fold_record(project, reservation.version, summaries, fold_models)
    record = {"parent_version": parent, "steps": steps, "corrections": used}
    record.update(lr_share=lr_share, fold_lr_share=fold_lr_share, norm_stats=cfg.norm_stats)
    record["out_of_fold"] = bool(folds)
    record["guard"] = guard_record(guard, seed, held, judgements)
    if guard:
        yield Progress("update guard", 0, 0, record["guard"]["summary"], {"notify": True})
    meta = {"kind": "update", "schedule_steps": schedule, "schedule_lr": base_lr}
    meta.update(record)
    return commit_version(
        project, final, probs, meta, "update", record, reservation, folds=fold_models
    )
