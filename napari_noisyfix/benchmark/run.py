"""``noisyfix benchmark``: the benchmark protocol end to end on a folder with images/ and masks/.

Steps (``../shared/BENCHMARK_PROTOCOL.md``): read and corrupt the masks (or, with a truth folder,
take them as given), hold out about a fifth of the patients as the test split (no project
contains them), build a project of the rest in ``OUT/project``, train out-of-fold with the
noise-robust recipe, score, run cleanlab on the same probabilities (measure 1), simulate a
reviewer over four orders with effort in review actions per image (measure 2), train plain /
robust / clean models and test them on the test split (measure 3), time everything (measure 4),
then review, retrain and rescore in two rounds against a full retrain (measure 5, the loop).
With ``labels="instance"`` the masks are object ids: the project is an instance project, merge
and split join the planted noise, every measure above runs on the union, and the ``instance.*``
figures (:mod:`~napari_noisyfix.benchmark.instance_measure`) are added after measure 2.
Writes ``OUT/results.json`` (also after measures 1 and 2, so that a run stopped later keeps
them), ``OUT/results.md``, ``OUT/noise_log.json`` and ``OUT/plots/*.png``.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

from .._atomic import atomic_write_text, write_json
from ..errors import NoisyFixError
from ..progress import Progress
from . import detection, loop, oracle, plots, review_metrics, review_sim, speed, training
from .budget import Budget, get_budget
from .dataset import BenchData, build_project, hold_out_test, noise_summary, prepare
from .instance_measure import instance_results
from .results import markdown_table, write_results
from .testset import TestSet

MEASURES = ("detection", "review", "training", "speed", "loop")


def train_configs(budget: Budget, device: str, seed: int, arch: str = "unet") -> dict:
    """The plain and the fixed robust TrainConfig of a budget (the out-of-fold run of measures 1,
    2, 4 and 5 keeps the fixed recipe, so its figures stay comparable across commits; the adaptive
    default is measured by measure 3's arms, ``benchmarks/training.py --arms``), for network
    ``arch`` (``maskrcnn`` trains with the plain recipe whatever the config says)."""
    from ..model.config import TrainConfig

    overrides = {**budget.train_overrides(device, seed), "arch": arch}
    return {"plain": TrainConfig.plain(**overrides), "robust": TrainConfig.robust(**overrides)}


def describe_device(device: str) -> str:
    """The resolved device in words (``cpu (2 threads)``, ``cuda:0 (NVIDIA H100 ...)``)."""
    import torch

    from ..model.device import resolve_device

    dev = resolve_device(device)
    if dev.type == "cuda":
        return f"{dev} ({torch.cuda.get_device_name(dev)})"
    return f"cpu ({torch.get_num_threads()} threads, {os.cpu_count()} cores, {platform.machine()})"


def code_version() -> dict:
    """``git_commit`` of the package's checkout and ``git_dirty`` (uncommitted changes under
    napari_noisyfix/), so every figure can be traced to the code that made it."""
    import subprocess

    root = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "HEAD") or "unknown"
    return {
        "git_commit": commit,
        "git_dirty": bool(git("status", "--porcelain", "napari_noisyfix")),
    }


def run_benchmark(
    data_dir,
    out,
    noise: float = 0.5,
    seed: int = 0,
    budget: str = "fast",
    device: str = "auto",
    measures=MEASURES,
    noise_types: str = "protocol",
    truth=None,
    labels: str = "semantic",
    arch: str = "unet",
):
    """Run the protocol (a generator of Progress); returns the results dict.

    Parameters
    ----------
    data_dir : path
        Folder with ``images/`` and ``masks/`` (same file stems).
    out : path
        Output folder (created; its ``project`` sub-folders are replaced).
    noise : float
        Fraction of images whose mask is corrupted (ignored with ``truth``).
    seed : int
        Seed of the noise, the folds and the training.
    budget : {"tiny", "fast", "full"}
        Sizes and schedule (:mod:`~napari_noisyfix.benchmark.budget`).
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    measures : tuple of str
        Measures to run after detection (always run): ``review``, ``training``, ``speed``,
        ``loop`` (last: it changes the project's masks).
        ``results.json`` must hold every key of the issue only when all run.
    noise_types : str
        Synthetic noise types (:func:`~napari_noisyfix.synth.noise.parse_kinds`): ``protocol``,
        ``realistic``, ``all`` or a comma list of type names (ignored with ``truth``).
    truth : path, optional
        Folder of true masks (same file stems as ``masks/``): the given masks are then used as
        they are (real label noise) and every measure runs against these.
    labels : {"semantic", "instance"}
        ``instance``: the masks (``masks_instance/`` when DATA has one) and the truth are object
        ids (:func:`~napari_noisyfix.benchmark.dataset.prepare`); adds the ``instance.*`` keys.
    arch : str
        Network of every model the run trains (``unet``, ``unetplusplus``; ``maskrcnn`` needs
        instance labels).
    """
    start = time.perf_counter()
    plan = get_budget(budget)
    out = Path(out)
    if arch == "maskrcnn" and labels != "instance":
        raise NoisyFixError("--arch maskrcnn needs instance masks: give --labels instance")
    configs = train_configs(plan, device, seed, arch)  # checks the arch before any work
    yield Progress("prepare", 0, 1, f"reading {data_dir}")
    everything = prepare(data_dir, noise, seed, plan.size, noise_types, truth, labels)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    write_json(out / "noise_log.json", everything.noise_log)
    kept, held_out = hold_out_test(everything, seed)
    data, test = everything.subset(kept), TestSet.of(everything, held_out)
    results = {**_header(data, seed, plan, device), "split.n_test": len(held_out)}
    if data.is_instance:
        results["instance.arch"] = arch
    project = build_project(data, out / "project")
    robust_steps: list[float] = []
    version, analysis_s = yield from _train_and_score(
        project, configs["robust"], plan, robust_steps
    )
    found = yield from _detection(project, version, data, out, analysis_s, results)
    write_results(out / "results.json", results, require=False)  # kept if a later step fails
    sims = {}
    if "review" in measures:
        sims = yield from _review(data, out, project, version, found, seed, results)
        write_results(out / "results.json", results, require=False)
    plain_steps: list[float] = []
    if "training" in measures:
        clean = build_project(data, out / "clean_labels", truth_as_labels=True)
        trained = yield from training.run_training(project, clean, configs["plain"], version, test)
        plain_steps = trained.pop("step_times")
        results.update(trained)
    if "speed" in measures:
        yield Progress("measure 4: speed", 0, 1, "timing the forward pass")
        forward = speed.forward_seconds(project, version, plan.speed_images, device)
        results.update(speed.speed_results(forward, analysis_s, robust_steps, found["cleanlab_s"]))
        results["speed.train_step_s.plain"] = speed.median(plain_steps)
    if "loop" in measures:
        write_results(out / "results.json", results, require=False)
        looped, curve = yield from loop.run_loop(
            loop.copy_project(project, out / "loop"),
            version,
            data,
            test,
            configs["robust"],
            plan.folds,
            out,
        )
        results.update(looped)
        plots.plot_loop(curve, sims.get("noisyfix"), looped["loop.first_queue_length"], out)
    results["seconds_total"] = time.perf_counter() - start
    write_results(out / "results.json", results, require=set(measures) >= set(MEASURES))
    atomic_write_text(out / "results.md", markdown_table(results))
    return results


def rescore_benchmark(source, data_dir, out, calibration: dict | None = None):
    """Measures 1 and 2 again with the current scoring code, on the out-of-fold probabilities a
    finished run stored (no training): compares scoring changes on identical probabilities.

    A generator of Progress; returns the results dict (also written to ``out``).

    Parameters
    ----------
    source : path
        Output folder of :func:`run_benchmark` (its ``results.json`` and ``project``).
    data_dir : path
        The data folder that run used (its noise is redrawn from the recorded seed and noise
        types; a run on real noise re-reads its recorded truth folder).
    out : path
        New output folder; the source is left untouched.
    calibration : dict, optional
        Fields of :class:`~napari_noisyfix.quality.params.CalibrationParams` to change from the
        documented defaults, each recorded as ``calibration.<field>`` (``calibration.seed``
        always): ``{"seed": 3}`` shows how much the scores depend on the planting's draw.
    """
    import shutil

    from ..project import Project
    from ..quality.score import score_project
    from .results import read_results

    source, out = Path(source), Path(out)
    params = calibration_params(calibration or {})
    before = read_results(source / "results.json")
    if out.exists():
        raise NoisyFixError(f"{out}: already exists; give a new folder")
    yield Progress("prepare", 0, 1, f"copying {source / 'project'}")
    shutil.copytree(source / "project", out / "project")
    (out / "plots").mkdir(parents=True, exist_ok=True)
    plan = get_budget(before["budget"])
    seed = int(before["noise.seed"])
    kinds = before.get("noise.types", "protocol")
    truth = before.get("noise.truth_dir") if before.get("noise.source") == "given" else None
    project = Project.open(out / "project")
    labels = "instance" if project.is_instance else "semantic"
    everything = prepare(data_dir, before["noise.fraction"], seed, plan.size, kinds, truth, labels)
    data = everything.subset(project.names)  # runs since measure 5 hold out a test split
    version = project.latest_model_version()
    start = time.perf_counter()
    yield from score_project(project, version, force=True, calibration_params=params)
    analysis_s = (time.perf_counter() - start) / len(project.names)
    results = _header(data, seed, plan, "cpu")
    results.update(device=before["device"], rescored_from=str(source))
    results["calibration.seed"] = params.seed
    results.update({f"calibration.{k}": _plain(getattr(params, k)) for k in calibration or {}})
    if "instance.arch" in before:
        results["instance.arch"] = before["instance.arch"]
    found = yield from _detection(project, version, data, out, analysis_s, results)
    yield from _review(data, out, project, version, found, seed, results)
    results["seconds_total"] = time.perf_counter() - start
    write_results(out / "results.json", results, require=False)
    return results


def calibration_params(changes: dict):
    """The documented calibration parameters with ``changes`` (field: value) applied; a value of
    the wrong type or an unknown field is refused, naming it."""
    import dataclasses

    from ..quality.params import PARAMS

    fields = {
        f.name: getattr(PARAMS.calibration, f.name) for f in dataclasses.fields(PARAMS.calibration)
    }
    for key, value in changes.items():
        if key not in fields:
            raise NoisyFixError(
                f"calibration has no parameter {key!r}; choose from {sorted(fields)}"
            )
        default = fields[key]
        same = isinstance(value, type(default)) or (type(default) is float and type(value) is int)
        if isinstance(value, bool) != isinstance(default, bool) or not same:
            raise NoisyFixError(
                f"calibration parameter {key!r} takes {type(default).__name__} values "
                f"such as {default!r}, not {value!r}"
            )
    return dataclasses.replace(PARAMS.calibration, **changes)


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def _header(data: BenchData, seed: int, plan: Budget, device: str) -> dict:
    return {
        "dataset": data.dataset,
        "n_images": len(data.names),
        "image_shape": list(next(iter(data.images.values())).shape[:2]),
        "device": describe_device(device),
        **code_version(),
        "budget": plan.name,
        "noise.seed": int(seed),
        **noise_summary(data),
    }


def _train_and_score(project, config, plan: Budget, step_times: list[float]):
    """Out-of-fold training with the robust recipe (its step times appended to ``step_times``),
    then scoring; returns (version, scoring seconds per image)."""
    from ..model.oof import train_out_of_fold
    from ..quality.score import score_project

    job = train_out_of_fold(project, config, plan.folds)
    version = yield from training.timed_steps(job, step_times)
    start = time.perf_counter()
    yield from score_project(project, version)
    return version, (time.perf_counter() - start) / len(project.names)


def _detection(project, version, data: BenchData, out: Path, analysis_s: float, results: dict):
    """Measure 1 on the stored probabilities; returns what the review simulation reuses."""
    yield Progress("measure 1: detection", 0, 1, "cleanlab on the same probabilities")
    probs, given, truth = detection.stack(project, version)
    errors = given != truth
    flags = data.corrupted()
    corrupted = np.array([flags[n] for n in project.names])
    types = {r["name"]: r["type"] for r in data.noise_log}
    kinds = [types[n] for n in project.names]
    peer = detection.cleanlab_scores(given, probs)
    ours = detection.tool_scores(project, version, analysis_s * len(project.names))
    for method, scores in (("noisyfix", ours), ("cleanlab", peer)):
        results.update(detection.detection_results(method, scores, errors, corrupted, kinds))
    results.update(detection.ratios(results))
    results.update(detection.image_dice_results(ours, peer, given, truth))
    curves = {m: detection.pr_curve(s, errors) for m, s in (("noisyfix", ours), ("cleanlab", peer))}
    plots.plot_pr_curves(curves, float(errors.mean()), out / "plots" / "pixel_pr.png")
    regions = review_sim.cleanlab_regions(project.names, peer.issues, probs, given, peer.image)
    return {"cleanlab_regions": regions, "cleanlab_s": peer.seconds / len(project.names)}


def _review(data: BenchData, out: Path, project, version: int, found: dict, seed: int, results):
    """Measure 2: the simulated reviewer over the tool's, a random and cleanlab's order (each on
    a fresh project) and the oracle, up to 1 action per image."""
    from ..quality.score import load_regions
    from ..review.session import order_regions

    ours = order_regions(load_regions(project, version))
    steps = review_metrics.budgets(len(data.names))
    n_actions = max(steps.values())
    orders = {
        "noisyfix": (ours, None),
        "random": (ours, review_sim.random_order(ours, seed)),
        "cleanlab": (found["cleanlab_regions"], [r.id for r in found["cleanlab_regions"]]),
    }
    sims, works = {}, {}
    for method, (regions, order) in orders.items():
        works[method] = build_project(data, out / f"review_{method}")
        walk = review_sim.simulate(
            works[method], regions, order, data.stored_truth, n_actions, version
        )
        sims[method] = yield from walk
    if data.is_instance:
        reviewed = {n: works["noisyfix"].labels(n) for n in data.names}
        results.update(instance_results(ours, data.noisy_ids, data.truth_ids, reviewed))
    fixes = oracle.oracle_fixes(data.noisy, data.truth)
    sims["oracle"] = oracle.simulate_oracle(fixes, data.noisy, data.truth, n_actions)
    results.update(review_metrics.measure_results(sims, steps))
    results["review.queue_length.noisyfix"] = len(ours)
    results["review.queue_length.cleanlab"] = len(found["cleanlab_regions"])
    results["review.queue_length.oracle"] = len(fixes)
    curves = {m: review_metrics.dice_at(sim, steps) for m, sim in sims.items()}
    before = results["review.dice_before"]
    plots.plot_review_curves(curves, before, out / "plots" / "review_curves.png")
    return sims


def benchmark_command(args) -> int:
    """``noisyfix benchmark DATA --noise --noise-types --truth --labels --arch --seed --budget
    --device --out``: run, print the table."""
    from ..progress import drive

    job = run_benchmark(
        args.data,
        args.out,
        args.noise,
        args.seed,
        args.budget,
        args.device,
        noise_types=args.noise_types,
        truth=args.truth,
        labels=args.labels,
        arch=args.arch,
    )
    results = drive(job)
    print(markdown_table(results))
    print(f"results written to {Path(args.out) / 'results.json'}")
    return 0
