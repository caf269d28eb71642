"""Training configuration: one typed dataclass, two named recipes and the matching CLI options.

The strategy fields (loss and the noise-robust switches) default to ``None`` and are filled from
the recipe named by ``strategy`` ("mixmatch", the default, "robust", "adaptive" or "plain"); any
of them given explicitly wins over the recipe. ``TrainConfig(strategy="plain", mixup_alpha=0.4)`` is plain
cross-entropy with MixUp added.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, fields

from ..errors import NoisyFixError

#: Plain training: cross-entropy on the given masks, no noise-robust strategy.
PLAIN = {
    "loss": "ce",
    "clean_pretrain_epochs": 0,
    "filter_threshold": 0.0,
    "filter_warmup": 2,
    "filter_mode": "downweight",
    "filter_weight": 0.1,
    "pseudo_threshold": 0.0,
    "pseudo_weight": 0.5,
    "consistency_weight": 0.0,
    "mixup_alpha": 0.0,
    "mixup_prob": 0.5,
    "curriculum": False,
    "curriculum_start": 0.5,
    "auto_strength": False,
}
#: The fixed noise-robust recipe (the default before MIXMATCH): cross-entropy + soft Dice, and
#: from the fifth epoch on pixels where the model gives another class more than 0.8 keep a tenth
#: of their weight;
#: images of a clean subset, when the project has one, are learnt alone for two epochs first.
#: Measured on dsb2018_nuclei_fluo (128 px, half the masks corrupted with the benchmark noise,
#: 160 training / 40 test images, resnet18 U-Net, 10 epochs x 8 steps x 8 images, CPU):
#: test Dice against the expert masks 0.860 for this recipe (no clean subset), 0.824 for plain
#: cross-entropy on the noisy masks, 0.865 for cross-entropy on the expert masks (87% of the gap
#: recovered); ablations: CE + Dice without filtering 0.856, CE + filtering 0.830, GCE (q 0.7) +
#: filtering after 2 epochs 0.840. One seed; the clean-subset phase was not part of the test.
ROBUST = {
    **PLAIN,
    "loss": "ce_dice",
    "clean_pretrain_epochs": 2,
    "filter_threshold": 0.8,
    "filter_warmup": 4,
    "filter_mode": "downweight",
}
#: The robust recipe's parts with their strength set per project from its own estimated label
#: noise (:mod:`.noise_level`). After the warm-up epochs of plain cross-entropy, the share of
#: pixels that the model confidently contradicts beyond what its own uncertainty explains is
#: measured on the held-out validation patients; that share of pixels is down-weighted and the
#: Dice term is on (at full weight) wherever any noise is found, so that labels that look clean,
#: or a model that cannot judge them, leave plain cross-entropy. Thin structures are never
#: filtered. In an out-of-fold run the final model's estimate comes from the folds' predictions
#: (:mod:`.oof`). Not the default: in measure 3 (one seed) it recovers 62% of a noisy-to-clean
#: gap where ROBUST recovers 72% (BENCHMARKS.md, issue 19).
ADAPTIVE = {**ROBUST, "loss": "ce_dice", "auto_strength": True}
#: MixMatch (:mod:`.mixmatch`, Berthelot et al. 2019): the robust recipe's loss, clean-subset
#: phase and warm-up, but the pixels its filter would down-weight are left unlabelled and learnt
#: from guessed, sharpened labels (K views, MixUp, a ramped L2 term). Its own settings are fixed
#: in ``mixmatch.MixMatchParams`` with the paper's values. The default: in measure 3 it is level
#: with or above plain CE on every run (on noisy masks at three noise levels, and on expert masks,
#: where it costs nothing), while ROBUST falls below plain CE on some; it costs about twice
#: ROBUST's training time (BENCHMARKS.md, issue 19).
MIXMATCH = dict(ROBUST)
RECIPES = {"robust": ROBUST, "adaptive": ADAPTIVE, "plain": PLAIN, "mixmatch": MIXMATCH}
#: What training does with the project's synthetic pairs.
SYNTHETIC: tuple[str, ...] = ("off", "add")
#: Where the batch-norm statistics come from (:mod:`.norm_stats`).
NORM_STATS: tuple[str, ...] = ("batches", "frozen", "project")
#: Where an update's batch-norm statistics come from (:data:`NORM_STATS`). The parent's
#: weights with an update's statistics lose 0.040 of fluorescence test Dice
#: (``benchmarks/update_norm.py``), but the update's own weights do not gain from statistics
#: estimated again on the project ("project": round 1 0.817 either way, histology 0.774 against
#: 0.781; ``benchmarks/loop_guard.py --norm-stats``, BENCHMARKS.md): the loss is in the weights.
#: Frozen ("frozen") won fluorescence round 1 (0.871) and collapsed in round 2 (0.705). So the
#: running average of the update's batches stays.
UPDATE_NORM_STATS = "batches"
#: Learning rate of an update, as a share of the training's: fine-tuning a trained model at its
#: full first rate threw test Dice about as often as it gained it (``benchmarks/update_lr.py``,
#: two seeds: 0.799 +- 0.086 at the full rate, 0.799 +- 0.032 at 0.3, and fewer remaining errors
#: hidden at 0.3).
UPDATE_LR_SHARE = 0.3


def check_norm_stats(value: str) -> None:
    """Raise :class:`NoisyFixError` unless ``value`` is one of :data:`NORM_STATS`."""
    if value not in NORM_STATS:
        raise NoisyFixError(f"batch-norm statistics {value!r}: choose from {', '.join(NORM_STATS)}")


#: Registered architectures and encoders (the factory in :mod:`.networks` builds exactly these);
#: kept here, free of torch, so that option parsing stays light.
ARCH_NAMES: tuple[str, ...] = ("unet", "unetplusplus", "maskrcnn")
#: ``mobilenetv3_small`` is the light one (half-width MobileNetV3-small with a narrow decoder,
#: 0.54 M parameters against 14.3 M for resnet18): the demo's shipped model and the CPU budget.
ENCODERS: tuple[str, ...] = (
    "resnet18",
    "resnet34",
    "mobilenet_v2",
    "efficientnet-b0",
    "mobilenetv3_small",
)
#: Input sides must be multiples of this (five stride-2 stages in every registered encoder).
OUTPUT_STRIDE = 32


def check_choice(arch: str, encoder: str) -> None:
    """Raise :class:`NoisyFixError` unless ``arch`` and ``encoder`` are registered."""
    if arch not in ARCH_NAMES:
        raise NoisyFixError(f"unknown architecture {arch!r}; choose from {sorted(ARCH_NAMES)}")
    if arch == "maskrcnn":
        from .maskrcnn import check_backbone

        check_backbone(encoder)
    elif encoder not in ENCODERS:
        raise NoisyFixError(f"unknown encoder {encoder!r}; choose from {list(ENCODERS)}")


#: Loss names (implemented in :mod:`.losses`); for two classes BCE is CE over two logits.
LOSS_NAMES: tuple[str, ...] = ("ce", "dice", "ce_dice", "gce", "sce", "tloss")
LOSS_ALIASES: dict[str, str] = {"bce": "ce", "bce_dice": "ce_dice"}


@dataclass
class TrainConfig:
    """Everything that defines one training run.

    Network: ``arch`` ("unet" | "unetplusplus" | "maskrcnn": instance projects only, plain
    recipe, resnet18/34 backbone, :mod:`.maskrcnn`), ``encoder``, ``encoder_weights`` (None or a local
    file), ``dropout`` (decoder dropout, also used for MC dropout).
    Loss: ``loss`` ("ce", "bce", "dice", "ce_dice", "bce_dice", "gce", "sce", "tloss"),
    ``gce_q``, ``sce_alpha``, ``sce_beta``, ``dice_weight`` (of the Dice term of ``ce_dice``),
    ``tloss_nu`` (the T-Loss's starting degree of freedom, learned during training).
    Schedule: ``epochs`` x ``steps_per_epoch`` steps of ``batch_size`` crops of ``image_size``
    pixels (None: whole images), Adam(W) with ``lr`` (linear warm-up over ``warmup_steps``, then
    cosine decay) and ``weight_decay``; ``norm_stats``, where the batch-norm statistics come from
    (:data:`NORM_STATS`, :mod:`.norm_stats`: "batches", the training batches' running average;
    "frozen", the starting weights'; "project", estimated again on the run's images after the
    last step; an update sets it, :mod:`.update`); early stopping after
    ``patience`` epochs without a better validation Dice on a patient-level split of
    ``val_fraction``.
    Device: ``device`` ("auto", "cpu", "cuda", "cuda:1"), ``amp`` (mixed precision on CUDA), ``seed``.
    Strategies (``None``: from the ``strategy`` recipe): ``clean_pretrain_epochs`` (epochs on the
    clean subset first); ``filter_threshold`` / ``filter_warmup`` / ``filter_mode`` /
    ``filter_weight`` (after the warm-up epochs, pixels where the model gives another class more
    than the threshold are down-weighted to ``filter_weight`` or ignored; 0 = off);
    ``pseudo_threshold`` / ``pseudo_weight`` (blend the model's confident prediction into the
    target; 0 = off); ``consistency_weight`` (agreement between two augmented views);
    ``mixup_alpha`` / ``mixup_prob``; ``curriculum`` / ``curriculum_start`` (easiest fraction
    first, widening to all images by the middle of training); ``auto_strength`` (set the filtered
    share and the Dice weight from the project's estimated noise at the end of the warm-up, with
    ``filter_threshold`` as the least confidence a filtered pixel needs; see :mod:`.noise_level`).
    Augmentation: ``augment_flips``, ``augment_rot90``, ``augment_intensity`` (jitter amplitude).
    Synthetic data: ``synthetic`` ("off", or "add": the project's SinGAN-Seg pairs generated from
    the training images join the training set; never the validation split).
    """

    arch: str = "unet"
    encoder: str = "resnet18"
    encoder_weights: str | None = None
    dropout: float = 0.1
    strategy: str = "mixmatch"
    loss: str | None = None
    gce_q: float = 0.7
    sce_alpha: float = 0.1
    sce_beta: float = 1.0
    dice_weight: float = 1.0
    tloss_nu: float = 1.0
    epochs: int = 20
    steps_per_epoch: int = 25
    batch_size: int = 8
    image_size: int | None = 128
    lr: float = 1e-3
    warmup_steps: int = 0
    norm_stats: str = "batches"
    weight_decay: float = 1e-4
    device: str = "auto"
    amp: bool = True
    seed: int = 0
    val_fraction: float = 0.15
    patience: int = 6
    clean_pretrain_epochs: int | None = None
    filter_threshold: float | None = None
    filter_warmup: int | None = None
    filter_mode: str | None = None
    filter_weight: float | None = None
    pseudo_threshold: float | None = None
    pseudo_weight: float | None = None
    consistency_weight: float | None = None
    mixup_alpha: float | None = None
    mixup_prob: float | None = None
    curriculum: bool | None = None
    curriculum_start: float | None = None
    auto_strength: bool | None = None
    augment_flips: bool = True
    augment_rot90: bool = True
    augment_intensity: float = 0.1
    synthetic: str = "off"

    def __post_init__(self) -> None:
        if self.strategy not in RECIPES:
            raise NoisyFixError(f"unknown strategy {self.strategy!r}; choose from {list(RECIPES)}")
        for key, value in RECIPES[self.strategy].items():
            if getattr(self, key) is None:
                setattr(self, key, value)
        if self.image_size == 0:
            self.image_size = None
        self._validate()

    def _validate(self) -> None:
        check_choice(self.arch, self.encoder)
        if self.image_size is not None and (
            self.image_size < 2 * OUTPUT_STRIDE or self.image_size % OUTPUT_STRIDE
        ):
            raise NoisyFixError(
                f"image size {self.image_size} must be a multiple of {OUTPUT_STRIDE}, at least 64"
            )
        if self.epochs < 1 or self.steps_per_epoch < 1 or self.batch_size < 1:
            raise NoisyFixError("epochs, steps per epoch and batch size must be at least 1")
        if self.warmup_steps < 0:
            raise NoisyFixError(f"warm-up steps must be 0 or more, got {self.warmup_steps}")
        if self.filter_mode not in ("downweight", "ignore"):
            raise NoisyFixError(f"filter mode {self.filter_mode!r} is not 'downweight' or 'ignore'")
        check_norm_stats(self.norm_stats)
        if self.synthetic not in SYNTHETIC:
            raise NoisyFixError(f"synthetic {self.synthetic!r} is not 'off' or 'add'")
        if not 0 <= self.val_fraction < 1:
            raise NoisyFixError(f"validation fraction {self.val_fraction} not in [0, 1)")
        if self.dice_weight < 0 or self.tloss_nu <= 0:
            raise NoisyFixError("the Dice weight must be >= 0 and the T-Loss nu > 0")

    # ------------------------------------------------------------------ presets
    @classmethod
    def plain(cls, **overrides) -> TrainConfig:
        """Plain cross-entropy on the given masks, no noise-robust strategy."""
        return cls(strategy="plain", **overrides)

    @classmethod
    def robust(cls, **overrides) -> TrainConfig:
        """The fixed noise-robust recipe (CE + Dice, filtering above 0.8 after the warm-up)."""
        return cls(strategy="robust", **overrides)

    @classmethod
    def adaptive(cls, **overrides) -> TrainConfig:
        """The robust recipe with its strength set from the project's own noise (opt-in)."""
        return cls(strategy="adaptive", **overrides)

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict:
        """Plain JSON-able dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`NoisyFixError`. The settings of
        versions made before ``norm_stats`` say ``freeze_norm`` (on: "frozen"; off: "batches")."""
        data = dict(data)
        if "freeze_norm" in data:
            data.setdefault("norm_stats", "frozen" if data.pop("freeze_norm") else "batches")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise NoisyFixError(f"unknown training settings: {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def cli_fields(cls) -> list[str]:
        """Names of the fields exposed as command-line options."""
        return [f.name for f in fields(cls)]


_HELP = {
    "arch": "network architecture (maskrcnn: instance projects, resnet18/34, plain recipe)",
    "encoder": "encoder backbone",
    "encoder_weights": "local file with encoder weights (nothing is downloaded)",
    "dropout": "decoder dropout probability (also used for MC-dropout uncertainty)",
    "strategy": "training recipe: 'mixmatch' (the robust recipe with its contradicted pixels "
    "learnt semi-supervised, MixMatch), 'robust' (noise-robust, fixed strength, about half the "
    "time), 'adaptive' (its strength set from the project's estimated noise) or 'plain' "
    "(cross-entropy)",
    "loss": "loss function (bce = ce for two classes)",
    "gce_q": "GCE exponent q in (0, 1]",
    "sce_alpha": "SCE weight of the cross-entropy term",
    "sce_beta": "SCE weight of the reverse cross-entropy term",
    "dice_weight": "weight of the Dice term of ce_dice (adaptive: the most it gets)",
    "tloss_nu": "T-Loss starting degree of freedom (learned while training)",
    "epochs": "training epochs",
    "steps_per_epoch": "optimiser steps per epoch",
    "batch_size": "crops per step",
    "image_size": "training crop side in pixels (multiple of 32); 0 = whole images",
    "lr": "learning rate (AdamW, cosine decay)",
    "warmup_steps": "steps of linear learning-rate warm-up before the cosine decay",
    "norm_stats": "where the batch-norm statistics come from: batches (the running average of the "
    "training batches), frozen (the starting weights', kept while training), project (estimated "
    "again after the last step on a sample of the run's images)",
    "weight_decay": "AdamW weight decay",
    "device": "auto, cpu, cuda or cuda:N",
    "amp": "mixed precision on CUDA",
    "seed": "random seed (CPU runs repeat exactly)",
    "val_fraction": "share of patients held out for early stopping",
    "patience": "epochs without a better validation Dice before stopping",
    "clean_pretrain_epochs": "epochs on the clean subset before the noisy images",
    "filter_threshold": "down-weight pixels where the model gives another class more than this (0 = off)",
    "filter_warmup": "epochs before filtering and pseudo-labels start",
    "filter_mode": "what confidence filtering does: downweight or ignore",
    "filter_weight": "weight kept by a filtered pixel in downweight mode",
    "pseudo_threshold": "blend the model's class into the target where it is this sure (0 = off)",
    "pseudo_weight": "share of the model's class in a pseudo-labelled target",
    "consistency_weight": "weight of the agreement loss between two augmented views (0 = off)",
    "mixup_alpha": "MixUp Beta(alpha, alpha) parameter (0 = off)",
    "mixup_prob": "share of steps that use MixUp",
    "curriculum": "easy (clean, low-loss) images first, widening to all",
    "curriculum_start": "share of images in the first curriculum epoch",
    "auto_strength": "set filtering and the Dice weight from the estimated label noise after the warm-up",
    "augment_flips": "random flips",
    "augment_rot90": "random quarter turns",
    "augment_intensity": "amplitude of random contrast/brightness jitter",
    "synthetic": "add: train also on the synthetic pairs made from the training images "
    "(noisyfix synth generate); off: real images only",
}


def given_fields(args: argparse.Namespace) -> dict:
    """The :class:`TrainConfig` fields set explicitly among parsed :func:`add_train_arguments` options."""
    return {
        k: getattr(args, k) for k in TrainConfig.cli_fields() if getattr(args, k, None) is not None
    }


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` of parsed :func:`add_train_arguments` options (unset ones: defaults)."""
    return TrainConfig(**given_fields(args))


def default_text(name: str, defaults: TrainConfig | None = None) -> str:
    """The value an unset ``--option`` of field ``name`` takes, as ``--help`` shows it.

    Strategy fields follow the recipe: ``ce_dice (adaptive, robust), ce (plain)`` when the
    recipes differ, the recipe of ``defaults`` first; the others are the field of ``defaults`` (default:
    ``TrainConfig()``).
    """
    defaults = defaults or TrainConfig()
    if name not in PLAIN:
        return _show(name, getattr(defaults, name))
    recipes = sorted(RECIPES, key=lambda r: r != defaults.strategy)  # the default one first
    grouped: dict[str, list[str]] = {}
    for r in recipes:
        grouped.setdefault(_show(name, RECIPES[r][name]), []).append(r)
    if len(grouped) == 1:
        return next(iter(grouped))
    return ", ".join(f"{value} ({', '.join(rs)})" for value, rs in grouped.items())


def _show(name: str, value) -> str:
    if name == "image_size" and value is None:
        return "0 (whole images)"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def add_train_arguments(
    parser: argparse.ArgumentParser,
    defaults: TrainConfig | None = None,
    skip: tuple[str, ...] = (),
    budgeted: tuple[str, ...] = (),
    own: str | None = None,
) -> None:
    """Add one ``--option`` per :meth:`TrainConfig.cli_fields`.

    Every option defaults to None, so that an unset option leaves the value to the recipe and
    the config (:func:`config_from_args`); its help shows the value that is then used
    (:func:`default_text` of ``defaults``), or says that ``--budget`` sets it for the fields in
    ``budgeted``. Fields in ``skip`` get no option (a command that sets them itself). With
    ``own``, every option's help gives that text as its default instead (``update``: an unset
    option keeps the model's own setting).
    """
    choices = {
        "arch": list(ARCH_NAMES),
        "encoder": list(ENCODERS),
        "loss": sorted(LOSS_NAMES) + sorted(LOSS_ALIASES),
        "strategy": list(RECIPES),
        "filter_mode": ["downweight", "ignore"],
        "synthetic": list(SYNTHETIC),
        "norm_stats": list(NORM_STATS),
    }
    group = parser.add_argument_group("training")
    types = {f.name: f.type for f in fields(TrainConfig)}
    for name in TrainConfig.cli_fields():
        if name in skip:
            continue
        flag = "--" + name.replace("_", "-")
        kind = types[name]
        default = "set by --budget" if name in budgeted else own or default_text(name, defaults)
        text = f"{_HELP[name]} (default: {default})"
        kwargs = {"dest": name, "default": None, "help": text.replace("%", "%%")}
        if "bool" in kind:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = int if "int" in kind else float if "float" in kind else str
            kwargs["choices"] = choices.get(name)
        group.add_argument(flag, **kwargs)
