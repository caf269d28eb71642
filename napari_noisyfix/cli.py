"""`noisyfix`: the command-line front door. Each subcommand is a thin call into the core."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import NoisyFixError


def _cmd_demo(args) -> int:
    from .gui.launch import launch

    project = prepare_demo(Path(args.project), n=args.n, size=args.size, seed=args.seed)
    return launch(project, screenshot=args.screenshot, reviewer=args.reviewer)


def prepare_demo(
    path: Path,
    n: int = 24,
    size: int = 256,
    seed: int = 0,
    folds: int = 2,
    epochs: int = 6,
    steps: int = 10,
):
    """The demo's main job: make the sample project, train out-of-fold and score, each only once.

    Returns the project, open for writing (close it, or pass it on, before opening it again).
    """
    from .model.config import TrainConfig
    from .model.oof import train_out_of_fold
    from .progress import drive
    from .project import Project
    from .quality.score import score_project, scored_version
    from .synth.sample import make_sample_project

    if (path / "project.json").exists():
        project = Project.open(path)
    else:
        project = make_sample_project(path, n=n, size=size, seed=seed)
    if project.latest_model_version() is None:
        config = TrainConfig.robust(epochs=epochs, steps_per_epoch=steps, image_size=128, seed=seed)
        drive(train_out_of_fold(project, config, folds=folds))
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

    clean = _read_clean_list(args.clean)
    with import_project(
        args.images,
        args.masks,
        args.project,
        patients_csv=args.patients,
        clean=clean,
        force=args.force,
        protect=[args.clean] if args.clean and Path(args.clean).is_file() else [],
    ) as proj:
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
    from .model.config import config_from_args
    from .model.oof import train_out_of_fold
    from .progress import drive

    with open_project(args.project, "write") as proj:
        version = drive(train_out_of_fold(proj, config_from_args(args), folds=args.folds))
    print(f"model version {version} saved in {proj.model_dir(version)}")
    return 0


def _cmd_update(args) -> int:
    from .model.config import config_from_args
    from .model.update import update
    from .progress import drive

    with open_project(args.project, "write") as proj:
        version = drive(update(proj, steps=args.steps, config=config_from_args(args)))
    print(f"model version {version} saved in {proj.model_dir(version)}")
    return 0


def _cmd_score(args) -> int:
    from .progress import drive
    from .quality.score import score_project

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
    print(summary)
    return 0


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


def _add_train_options(p: argparse.ArgumentParser) -> None:
    from .model.config import add_train_arguments

    add_train_arguments(p)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="noisyfix",
        description="Find, review and fix noisy segmentation labels on medical images.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="generate the sample project (if absent) and open it in napari")
    p.add_argument("--project", default="demo_project", help="where the sample project lives")
    p.add_argument("--n", type=int, default=24)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reviewer", default=None, help="reviewer name for the audit log")
    p.add_argument("--screenshot", default=None, help="render the window to this PNG and exit")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("sample", help="write a synthetic sample project with noisy masks and truth")
    p.add_argument("dir")
    p.add_argument("--n", type=int, default=24, help="number of images")
    p.add_argument("--size", type=int, default=256, help="image side in pixels")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--noise", type=float, default=0.5, help="fraction of masks corrupted")
    p.add_argument("--force", action="store_true", help="replace an existing folder")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("import", help="build a project from folders of images and masks")
    p.add_argument("images", help="folder of images (PNG, JPEG, TIFF, NIfTI, DICOM)")
    p.add_argument("masks", help="folder of masks with the same file names")
    p.add_argument("project", help="project folder to create")
    p.add_argument("--patients", help="CSV with columns image,patient")
    p.add_argument("--clean", help="names of trusted masks: a text file or a comma list")
    p.add_argument("--force", action="store_true", help="replace an existing project")
    p.set_defaults(func=_cmd_import)

    p = sub.add_parser("train", help="train out-of-fold models and a final model")
    p.add_argument("project")
    p.add_argument(
        "--folds", type=int, default=3, help="patient-level folds for out-of-fold scores"
    )
    _add_train_options(p)
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("update", help="incremental retraining from the expert's corrections")
    p.add_argument("project")
    p.add_argument("--steps", type=int, default=50)
    _add_train_options(p)
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
    p.add_argument("--screenshot", default=None, help="render the window to this PNG and exit")
    p.set_defaults(func=_cmd_review)

    p = sub.add_parser("evaluate", help="patient-level cross-validation and an HTML report")
    p.add_argument("project")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--against", choices=["auto", "masks", "truth"], default="auto")
    p.add_argument("--compare-image-split", action="store_true")
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
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--budget", choices=["tiny", "fast", "full"], default="fast")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_cmd_benchmark)
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``noisyfix`` console script.

    Bad input and every fault from outside (OS, SQLite, memory) end the command with one line
    ``noisyfix: error: FILE: problem`` on stderr and exit status 2, never a traceback.
    """
    from .faults import FAULTS, one_line

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except FAULTS as exc:
        print(f"noisyfix: error: {one_line(exc, log=_log_file(args))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("noisyfix: cancelled", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
