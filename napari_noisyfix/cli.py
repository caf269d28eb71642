"""`noisyfix`: the command-line front door. Each subcommand is a thin call into the core."""

from __future__ import annotations

import argparse
import shlex
import sys
import warnings
from pathlib import Path

from .errors import NoisyFixError

#: Training fields ``noisyfix update`` sets itself (:func:`~.model.update.update_config`: the
#: checkpoint's network, one epoch of ``--steps`` steps, no clean-subset phase, warm-up or
#: curriculum) or never uses (it trains without a validation split): it offers no option for them.
UPDATE_SETS = (
    "arch",
    "encoder",
    "encoder_weights",
    "dropout",
    "epochs",
    "steps_per_epoch",
    "warmup_steps",
    "norm_stats",
    "clean_pretrain_epochs",
    "filter_warmup",
    "curriculum",
    "curriculum_start",
    "val_fraction",
    "patience",
)


def _cmd_demo(args) -> int:
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from .gui.launch import launch

    # The project is prepared (torch imported, the model installed, the masks scored) in a child
    # process while this one starts napari and builds the window: on two cores the two overlap.
    # Spawned, not forked: the child starts clean of this process's Qt and threads.
    pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"))
    job = pool.submit(_prepared_demo, Path(args.project), args.n, args.size, args.seed, args.budget)

    def project():
        try:
            return job.result()
        finally:
            pool.shutdown(wait=False)  # the child's interpreter shut-down is not waited for

    try:
        return launch(project, screenshot=args.screenshot, reviewer=args.reviewer)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _prepared_demo(path: Path, n: int, size: int, seed: int, budget: str) -> Path:
    """:func:`prepare_demo` in the demo's child process: the project's folder, closed again."""
    with prepare_demo(path, n=n, size=size, seed=seed, budget=budget) as project:
        return project.root


def prepare_demo(
    path: Path, n: int = 24, size: int = 128, seed: int = 0, budget: str = "auto", config=None
):
    """The demo's main job: make the sample project, give it a model and score it, each once.

    The model is the one the package ships for the default sample
    (:mod:`~.model.sample_model`: out-of-fold, so the queue is honest), installed in seconds;
    a sample of other ``n``, ``size`` or ``seed`` is trained with the ``budget`` plan instead
    (or with ``config`` and 2 folds, when given). Returns the project, open for writing (close
    it, or pass it on, before opening it again).
    """
    from .model.budget import estimate_seconds, given_plan, plan_text, plan_training
    from .model.oof import train_out_of_fold
    from .model.sample_model import install_sample_model, sample_model_fits
    from .progress import drive
    from .project import Project
    from .quality.score import score_project, scored_version
    from .synth.sample import make_sample_project

    if (path / "project.json").exists():
        project = Project.open(path)
    else:
        project = make_sample_project(path, n=n, size=size, seed=seed)
    if project.latest_model_version() is None and sample_model_fits(project):
        drive(install_sample_model(project))
    elif project.latest_model_version() is None:
        plan = given_plan(config, 2) if config else plan_training(budget, {"seed": seed})
        seconds = estimate_seconds(plan, project.in_channels, project.n_classes)
        print(f"noisyfix: no shipped model for this sample; {plan_text(plan, seconds)}")
        drive(train_out_of_fold(project, plan.config, folds=plan.folds))
    try:
        scored_version(project)
    except NoisyFixError:
        print(drive(score_project(project)))
    return project


def _cmd_sample(args) -> int:
    from .synth.sample import make_sample_project

    proj = make_sample_project(
        args.dir, n=args.n, size=args.size, seed=args.seed, noise=args.noise, force=args.force
    )
    print(f"sample project with {len(proj.names)} images written to {proj.root}")
    return 0


def _cmd_import(args) -> int:
    from .io.importer import import_project
    from .io.loaders import parse_channel_axis
    from .io.pairs import data_folders

    clean = _read_clean_list(args.clean)
    images, masks = (args.images, args.masks) if args.masks else data_folders(args.images)
    with import_project(
        images,
        masks,
        args.project,
        patients_csv=args.patients,
        clean=clean,
        force=args.force,
        protect=[args.clean] if args.clean and Path(args.clean).is_file() else [],
        labels=args.labels,
        channel_axis=parse_channel_axis(args.channel_axis),
    ) as proj:
        record = proj.config["import"]
        print(f"masks read as {record['labels']} labels: {record['labels_why']}")
        print(
            f"imported {len(proj.names)} images ({len(set(proj.patients().values()))} patients, "
            f"{len(proj.clean_names())} clean, {proj.n_classes} classes) into {proj.root}"
        )
    return 0


def _read_clean_list(value: str | None) -> set[str] | None:
    if value is None:
        return None
    path = Path(value)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise NoisyFixError(f"{path}: clean list is not UTF-8 text ({exc.reason})") from exc
        return {s.strip() for s in text.replace(",", "\n").splitlines() if s.strip()}
    return {s.strip() for s in value.split(",") if s.strip()}


def _cmd_train(args) -> int:
    """Train here, or in ``--nproc`` processes started with torchrun (which run this again)."""
    from .model import distributed

    plan = training_plan(args)
    distributed.check_launch(args.nproc, plan.config.device, plan.config.batch_size)
    if args.nproc > 1 and distributed.launched_world() == 1:
        return distributed.launch(args.nproc, args.argv)
    ranks = distributed.start(plan.config.device)
    try:
        return _train(args, plan, ranks)
    finally:
        distributed.stop()


def _train(args, plan, ranks) -> int:
    """Out-of-fold training; in a distributed run only the main process opens the project for
    writing, prints and shows progress (the others read and stay quiet)."""
    from .model.budget import estimate_seconds, plan_text
    from .model.maskrcnn import check_project
    from .model.oof import strength_note, train_out_of_fold
    from .progress import drive

    proj = ranks.on_main(open_project, args.project, "write", share=False)
    if proj is None:  # another process of a distributed run, after the main one opened it
        warnings.simplefilter("ignore")  # the main process shows the same warnings
        proj = open_project(args.project, "read")
    with proj:
        check_project(proj, plan.config)
        if ranks.main:
            seconds = estimate_seconds(plan, proj.in_channels, proj.n_classes)
            print(f"noisyfix: {plan_text(plan, seconds)}", file=sys.stderr)
        job = train_out_of_fold(proj, plan.config, folds=plan.folds)
        version = drive(job, quiet=not ranks.main)
    if ranks.main:
        print(f"model version {version} saved in {proj.model_dir(version)}")
        print(f"robust strength: {strength_note(proj, version)}")
    return 0


def training_plan(args):
    """The :class:`~.model.budget.TrainPlan` of ``noisyfix train``'s options: the budget's
    network, schedule, crop size and folds, under the options given explicitly."""
    from .model.budget import plan_training
    from .model.config import TrainConfig

    given = {
        k: getattr(args, k) for k in TrainConfig.cli_fields() if getattr(args, k, None) is not None
    }
    return plan_training(args.budget, given, args.folds)


def _cmd_update(args) -> int:
    """Retrain from the corrections, then rescore with the new version (like the GUI's Retrain),
    so that the scores never stay on the old model."""
    from .model.checkpoints import load_checkpoint
    from .model.config import given_fields
    from .model.update import given_settings
    from .model.update_guard import record_text
    from .progress import drive
    from .review.jobs import retrain_job

    with open_project(args.project, "write") as proj:
        # options not given keep the model's own settings, as the GUI's Retrain does
        config = given_settings(proj, given_fields(args))
        job = retrain_job(
            proj, args.steps, config=config, guard=args.guard == "on", norm_stats=args.norm_stats
        )
        version = drive(job)
    print(f"model version {version} saved in {proj.model_dir(version)}")
    print("\n".join(record_text(load_checkpoint(proj.model_dir(version)).meta["guard"])))
    print(f"project rescored with model version {version}; next: {_command('review', args)}")
    return 0


def _cmd_score(args) -> int:
    from .progress import drive
    from .quality.score import load_verdict, score_project

    thresholds = _thresholds(args.threshold)
    with open_project(args.project, "write") as proj:
        summary = drive(
            score_project(
                proj,
                version=args.version,
                tta=args.tta,
                force=args.force,
                thresholds=thresholds,
                features=args.features,
            )
        )
        verdict = load_verdict(proj, args.version)
    print(summary)
    print(next_step(verdict, args))
    return 0


def next_step(verdict, args) -> str:
    """The line after ``noisyfix score``: review, or what would make the scores trustworthy."""
    review = _command("review", args)
    if verdict.warning is None:
        return f"next: {review}"
    return (
        "next: what would help (above), then "
        f"{_command('score', args)}; or review as it is: {review}"
    )


def _command(name: str, args) -> str:
    """``noisyfix NAME PROJECT`` for the project of ``args``, quoted for a shell."""
    return f"noisyfix {name} {shlex.quote(str(args.project))}"


def _thresholds(items: list[str] | None) -> dict[int, float] | None:
    """Parse repeated ``CLASS=VALUE`` threshold overrides."""
    if not items:
        return None
    out = {}
    for item in items:
        cls, sep, value = item.partition("=")
        try:
            out[int(cls)] = float(value)
        except ValueError as exc:
            raise NoisyFixError(f"--threshold {item!r}: expected CLASS=VALUE, e.g. 1=0.6") from exc
        if not sep or not 0.0 < out[int(cls)] < 1.0:
            raise NoisyFixError(f"--threshold {item!r}: expected CLASS=VALUE with 0 < VALUE < 1")
    return out


def _cmd_review(args) -> int:
    from .gui.launch import launch

    return launch(Path(args.project), screenshot=args.screenshot, reviewer=args.reviewer)


def _cmd_evaluate(args) -> int:
    from .evaluate import evaluate_command

    return evaluate_command(args)


def _cmd_export(args) -> int:
    from .io.export import export_project
    from .progress import drive

    with open_project(args.project, "read") as proj:  # export only reads the project
        out = drive(export_project(proj, args.out, fmt=args.format, force=args.force))
    print(f"cleaned masks, review log and model exported to {out}")
    return 0


def _cmd_benchmark(args) -> int:
    from .benchmark.run import benchmark_command

    return benchmark_command(args)


def _add_train_options(
    p: argparse.ArgumentParser,
    skip: tuple[str, ...] = (),
    budgeted: tuple[str, ...] = (),
    own: str | None = None,
) -> None:
    from .model.config import add_train_arguments

    add_train_arguments(p, skip=skip, budgeted=budgeted, own=own)


class _HelpFormatter(argparse.HelpFormatter):
    """Help that shows every option's default, unless it is None or off or the help says it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        hidden = default is None or default is False or default == argparse.SUPPRESS
        if hidden or "default" in text or not action.option_strings:
            return text
        return text + " (default: %(default)s)"


def version() -> str:
    """The installed package's version (the source tree's when it is not installed)."""
    from importlib import metadata

    try:
        return metadata.version("napari-noisyfix")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        from . import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    from .benchmark.dataset import LABELS as BENCH_LABELS
    from .model import budget  # torch-free, like the config
    from .model.config import ARCH_NAMES
    from .model.sample_model import DEMO_SAMPLE

    parser = argparse.ArgumentParser(
        prog="noisyfix",
        description="Find, review and fix noisy segmentation labels on medical images.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_SubParser
    )

    p = sub.add_parser(
        "demo",
        help="generate the sample project (if absent), score it and open it in napari",
        description="Make the synthetic sample project, give it the package's shipped model "
        "(out-of-fold, trained on exactly this sample; a sample of another --n, --size or "
        "--seed is trained with --budget instead), score it and open it for review.",
    )
    p.add_argument("--project", default="demo_project", help="where the sample project lives")
    p.add_argument("--n", type=int, default=DEMO_SAMPLE["n"], help="number of images")
    p.add_argument("--size", type=int, default=DEMO_SAMPLE["size"], help="image side in pixels")
    p.add_argument("--seed", type=int, default=DEMO_SAMPLE["seed"], help="random seed")
    p.add_argument(
        "--budget",
        choices=budget.CHOICES,
        default="auto",
        help="training budget when the shipped model does not fit the sample",
    )
    p.add_argument("--reviewer", default=None, help="reviewer name for the audit log")
    p.add_argument(
        "--screenshot",
        default=None,
        help="render the window to this PNG and exit (remembers no reviewer)",
    )
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("sample", help="write a synthetic sample project with noisy masks and truth")
    p.add_argument("dir")
    p.add_argument("--n", type=int, default=24, help="number of images")
    p.add_argument("--size", type=int, default=256, help="image side in pixels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--noise", type=float, default=0.5, help="fraction of masks corrupted")
    p.add_argument("--force", action="store_true", help="replace an existing folder")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser(
        "import",
        help="build a project from folders of images and masks",
        usage="%(prog)s [-h] [options] IMAGES MASKS PROJECT | DATA PROJECT",
    )
    p.add_argument(
        "images",
        metavar="IMAGES",
        help="folder of images (PNG, JPEG, TIFF, NIfTI, DICOM); or DATA, a folder holding "
        "images/ and masks/, followed by PROJECT only",
    )
    p.add_argument(
        "masks",
        metavar="MASKS",
        nargs="?",
        help="folder of masks named like their images, optionally with a suffix "
        "(a.png: a.png, a_mask.png, a_masks.png, a_labels.tif, a_seg.npy...)",
    )
    p.add_argument("project", metavar="PROJECT", help="project folder to create")
    p.add_argument("--patients", help="CSV with columns image,patient")
    p.add_argument("--clean", help="names of trusted masks: a text file or a comma list")
    p.add_argument("--force", action="store_true", help="replace an existing project")
    p.add_argument(
        "--labels",
        choices=("semantic", "instance", "auto"),
        default="auto",
        help="mask values are class ids (semantic), object ids (instance: one id per object, "
        "as Cellpose or StarDist write them), or decided from the masks (auto: many ids, each "
        "one connected blob, read as objects); the decision is printed",
    )
    p.add_argument(
        "--channel-axis",
        default=None,
        metavar="AXIS",
        help="the axis of the TIFF images that holds channels (0, 2, -1), or 'none' for a stack "
        "of slices (default: the file's axes, else detected from the shape; a shape that could "
        "be either is refused)",
    )
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser(
        "train",
        help="train out-of-fold models and a final model",
        description="Train one model per patient-level fold (each scores the images it never "
        "saw) and a final model on every image. --budget sets the network, schedule, crop size "
        "and folds (auto: quick on a CPU, standard on a GPU); options given explicitly win. The "
        "plan and its estimated duration, timed on this machine, are printed first.",
    )
    p.add_argument("project")
    p.add_argument(
        "--budget",
        choices=budget.CHOICES,
        default="auto",
        help="quick (light network, 2 folds, minutes on a CPU), standard (resnet18, 3 folds), "
        "thorough (longer, 256-px crops, 5 folds; for a GPU) or auto",
    )
    p.add_argument(
        "--folds",
        type=int,
        default=None,
        help="patient-level folds for out-of-fold scores (default: set by --budget; a project "
        "of one patient: runs of consecutive slices)",
    )
    p.add_argument(
        "--nproc",
        type=int,
        default=1,
        help="training processes on this machine, one per GPU (gloo on a CPU), started with "
        "torchrun; the same as torchrun --nproc-per-node N -m napari_noisyfix train ...",
    )
    _add_train_options(p, budgeted=budget.BUDGETED)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser(
        "update",
        help="incremental retraining from the expert's corrections, then rescoring",
        description="Retrain the newest model and its fold models from the corrections so far "
        "(the network is the checkpoint's; one epoch of --steps steps each, at a fine-tuning "
        "share of --lr after a warm-up; each fold model learns only the reviewed pixels of the "
        "images it holds out, so the new scores stay out-of-fold) "
        "and rescore the project with them.",
    )
    p.add_argument("project")
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="optimiser steps per model (default: a fifth of the first training's schedule, "
        "at least 5)",
    )
    p.add_argument(
        "--guard",
        choices=("on", "off"),
        default="on",
        help="on: hold back the trusted pixels of a seeded share of the reviewed patients, judge "
        "each updated model against its parent on them and keep the parent's weights where the "
        "update made it worse by more than the standard error (default); off: train on every "
        "correction, judge nothing",
    )
    from .model.config import NORM_STATS, UPDATE_LR_SHARE, UPDATE_NORM_STATS

    p.add_argument(
        "--norm-stats",
        choices=NORM_STATS,
        default=None,
        help="where the updated models' batch-norm statistics come from: batches (the update's "
        "own batches), frozen (the parent's, kept), project (estimated again on a sample of the "
        f"project's images after the steps) (default: {UPDATE_NORM_STATS})",
    )
    own = f"the model's own; a rate given is used x {UPDATE_LR_SHARE:g}"
    _add_train_options(p, skip=UPDATE_SETS, own=own)
    p.set_defaults(func=_cmd_update)

    p = sub.add_parser("score", help="confidence maps, label-error regions and the review queue")
    p.add_argument("project")
    p.add_argument("--version", type=int, default=None, help="model version (default: newest)")
    p.add_argument("--tta", action="store_true", help="add flip test-time augmentation")
    p.add_argument("--force", action="store_true", help="rescore every image")
    p.add_argument(
        "--features",
        action="store_true",
        help="run the model for decoder features (outliers) and TTA maps",
    )
    p.add_argument(
        "--threshold",
        action="append",
        metavar="CLASS=VALUE",
        help="override the data-derived confidence threshold of a class (repeatable)",
    )
    p.set_defaults(func=_cmd_score)

    p = sub.add_parser("review", help="open a project in napari for review")
    p.add_argument("project")
    p.add_argument("--reviewer", default=None, help="reviewer name for the audit log")
    p.add_argument(
        "--screenshot",
        default=None,
        help="render the window to this PNG and exit (remembers no reviewer)",
    )
    p.set_defaults(func=_cmd_review)

    p = sub.add_parser("evaluate", help="patient-level cross-validation and an HTML report")
    p.add_argument("project")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds")
    p.add_argument(
        "--against",
        choices=["auto", "masks", "truth"],
        default="auto",
        help="score the held-out predictions against the masks or the true masks "
        "(auto: the truth when the project has it)",
    )
    p.add_argument(
        "--compare-image-split",
        action="store_true",
        help="also cross-validate by image, to show what splitting by patient avoids",
    )
    p.add_argument("--report-only", action="store_true", help="write the report without training")
    _add_train_options(p)
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("export", help="write cleaned masks, the review log (CSV) and the model")
    p.add_argument("project")
    p.add_argument("out")
    p.add_argument(
        "--format", default="source", help="'source' (as imported), png, tiff, nifti or npy"
    )
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser(
        "benchmark", help="run the benchmark protocol on a folder with images/ and masks/"
    )
    p.add_argument("data", help="folder with images/ and masks/ (same file stems)")
    p.add_argument(
        "--noise",
        type=float,
        default=0.5,
        help="fraction of masks to corrupt (default 0.5; ignored with --truth)",
    )
    p.add_argument(
        "--noise-types",
        default="protocol",
        help="synthetic noise types: protocol (default), realistic, all, or a comma list of "
        "type names (ignored with --truth)",
    )
    p.add_argument(
        "--truth",
        metavar="DIR",
        default=None,
        help="real label noise: use DATA/masks as given (no synthetic noise; --noise and "
        "--noise-types are ignored) and read the true masks from DIR (same file stems)",
    )
    p.add_argument(
        "--labels",
        choices=BENCH_LABELS,
        default="semantic",
        help="instance: the masks are object ids (read from DATA/masks_instance when it exists, "
        "else DATA/masks); merge and split join the noise types, the project is an instance "
        "project, and results gain instance.* (merge/split AP, AJI and object F1 before and "
        "after review)",
    )
    p.add_argument(
        "--arch",
        choices=ARCH_NAMES,
        default="unet",
        help="network of every model trained (maskrcnn needs --labels instance)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument(
        "--budget", choices=["tiny", "fast", "full"], default="fast", help="training budget"
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--out", required=True, help="folder for the results")
    p.set_defaults(func=_cmd_benchmark)

    from .synth.cli import add_commands

    add_commands(sub)
    return parser


def _log_file(args) -> Path | None:
    """The audit log a command works on, named when SQLite fails."""
    folder = getattr(args, "project", None) or getattr(args, "dir", None)
    return Path(folder) / "log.sqlite" if folder else None


def open_project(path, mode: str = "write"):
    """Open a project for a command, printing what recovery did when it was opened for writing
    (an interrupted action rolled back, a stale version reservation removed)."""
    from .project import Project

    project = Project.open(path, mode=mode)
    for note in project.notes:
        print(f"noisyfix: {note}", file=sys.stderr)
    return project


class _SubParser(argparse.ArgumentParser):
    """A subcommand's parser: its help shows the defaults (:class:`_HelpFormatter`)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)


def _one_line_warnings(fallback):
    """A ``warnings.showwarning`` that prints the package's own warnings as one line
    ``noisyfix: warning: ...`` and hands the others to ``fallback``."""

    def show(message, category, filename, lineno, file=None, line=None):
        if category.__module__.split(".")[0] != __package__:
            return fallback(message, category, filename, lineno, file, line)
        print(f"noisyfix: warning: {message}", file=sys.stderr if file is None else file)

    return show


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``noisyfix`` console script.

    Bad input and every fault from outside (OS, SQLite, memory) end the command with one line
    ``noisyfix: error: FILE: problem`` on stderr and exit status 2, never a traceback; the
    package's warnings (folds split by slice, say) are one line ``noisyfix: warning: ...``.
    """
    from .faults import FAULTS, one_line

    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what --nproc starts again
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warnings(warnings.showwarning)
            return int(args.func(args) or 0)
    except FAULTS as exc:
        print(f"noisyfix: error: {one_line(exc, log=_log_file(args))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("noisyfix: cancelled", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
