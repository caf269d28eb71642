"""Measure 5, the loop: review, retrain incrementally, rescore, and again; against a full retrain.

On a copy of the benchmark's scored project (``OUT/loop``; the project itself stays as measures
1-4 left it):

- round ``k`` walks the current queue with the simulated reviewer of measure 2 until
  :data:`ROUNDS` ``[k]`` of the first queue's length is reviewed in all;
- the model before the round rescores the corrected masks (``remaining.*.before``: its error
  score against the errors still left), ``update`` runs with its default steps (out-of-fold,
  :mod:`~napari_noisyfix.model.update`), the new version scores them (``.after_update``); the
  same for cleanlab on each version's probabilities, side by side;
- every model is tested on the held-out split (``test_dice.before`` / ``.after_update``), and
  so is the network trained from scratch with the original schedule (``train_out_of_fold``, as a
  user without incremental updates would) on a copy of the project holding the masks as they
  stand after the round (``.full_retrain``, with its time ``full_retrain_s``).

Keys per round: ``loop.round<k>.reviewed_share``, ``.label_dice``, ``.test_dice.{before,
after_update,full_retrain}``, ``.remaining.{pixel_ap,image_auroc}.{before,after_update}`` and
their ``.cleanlab`` twins, ``.update_s``, ``.full_retrain_s``, ``.update_to_full``, and what the
update guard (:mod:`~napari_noisyfix.model.update_guard`) did: ``.guard_kept`` (the final model
kept its parent's weights), ``.guard_kept_folds``, ``.guard_judged``, ``.guard_whole``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

from ..progress import restage
from . import detection, review_sim
from .dataset import build_project
from .testset import version_predictor

#: Cumulative share of the first queue reviewed after each round.
ROUNDS = (0.10, 0.25)


def remaining(project, version: int) -> dict[str, float]:
    """Pixel AP and image AUROC of the tool's and cleanlab's error scores of ``version`` against
    the errors still left in the working masks."""
    probs, given, truth = detection.stack(project, version)
    probs = probs.astype(np.float32)
    errors = given != truth
    wrong = errors.reshape(len(errors), -1).any(axis=1)
    out = {}
    tool = detection.tool_scores(project, version, 0.0)
    peer = detection.cleanlab_scores(given, probs)
    for suffix, scores in (("", tool), (".cleanlab", peer)):
        ap = average_precision_score(errors.ravel(), scores.pixel.ravel()) if errors.any() else 1
        out[f"pixel_ap{suffix}"] = float(ap)
        out[f"image_auroc{suffix}"] = detection.auroc(wrong, scores.image)
    return out


def copy_project(project, root: Path):
    """A copy of a scored project at ``root`` (replaced), opened for writing."""
    import shutil

    from ..project import Project

    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(project.root, root, ignore=shutil.ignore_patterns(".lock"))
    return Project.open(root)


def _full_retrain(project, data, config, folds: int, root: Path):
    """Train from scratch on a copy of ``project``'s current masks; returns (copy, version, s)."""
    from ..model.oof import train_out_of_fold

    copy = build_project(data, root)
    for name in project.names:
        mask = project.labels(name)  # as stored: an instance project's ids too
        if not np.array_equal(mask, copy.labels(name)):
            copy.save_mask(name, mask)
    start = time.perf_counter()
    version = yield from train_out_of_fold(copy, config, folds)
    return copy, version, time.perf_counter() - start


def run_loop(
    project, version: int, data, test, config, folds: int, out: Path, full: bool = True, guard=True
):
    """The rounds of measure 5 (a generator); returns the flat ``loop.*`` keys and the curves.

    Parameters
    ----------
    project : Project
        A copy of the benchmark's scored project (its working masks are changed).
    version : int
        Its scored out-of-fold version.
    data : BenchData
        The project's images, noisy and true masks (the test split excluded).
    test : TestSet
        The held-out split.
    config : TrainConfig
        The recipe and schedule ``version`` was trained with (the full-retrain arm's).
    folds : int
        Its number of folds.
    out : Path
        Where the full-retrain copies go.
    full : bool
        Run the full-retrain arm (``benchmarks/loop_guard.py`` leaves it out to save time).
    guard : bool
        The update guard (:mod:`~napari_noisyfix.model.update_guard`) of each update.
    """
    from ..model.update import update
    from ..quality.score import load_regions, score_project
    from ..review.session import order_regions

    def predictor(v: int, where=project):
        return version_predictor(where, v, config.device)

    first = len(order_regions(load_regions(project, version)))
    results: dict[str, float] = {"loop.first_queue_length": first}
    curve = {"reviewed": [0.0], "label_dice": [], "test": {"before": [], "after": [], "full": []}}
    done, current = 0, version
    for k, share in enumerate(ROUNDS, start=1):
        key = f"loop.round{k}"
        results[f"{key}.test_dice.before"] = test.dice(predictor(current))[0]
        regions = order_regions(load_regions(project, current))
        todo = max(math.ceil(share * first) - done, 0)
        walk = yield from restage(
            review_sim.simulate(project, regions, None, data.stored_truth, todo, current),
            f"measure 5: round {k} review",
        )
        if not curve["label_dice"]:
            curve["label_dice"].append(walk["dice_before"])
        done += len(walk["actions"])
        label_dice = walk["trace"][-1] if walk["trace"] else walk["dice_before"]
        results[f"{key}.reviewed_share"] = done / first if first else 0.0
        results[f"{key}.label_dice"] = label_dice
        yield from restage(score_project(project, current), f"measure 5: round {k} rescore")
        for name, value in remaining(project, current).items():
            results[f"{key}.remaining.{_split(name, 'before')}"] = value
        new, update_s = current, 0.0
        if walk["actions"]:  # an update needs corrections; an exhausted queue leaves the model
            start = time.perf_counter()
            job = update(project, guard=guard)
            new = yield from restage(job, f"measure 5: round {k} update")
            update_s = time.perf_counter() - start
            yield from restage(score_project(project, new), f"measure 5: round {k} score")
        results[f"{key}.update_s"] = update_s
        results.update(guard_keys(project, current, new, key))
        for name, value in remaining(project, new).items():
            results[f"{key}.remaining.{_split(name, 'after_update')}"] = value
        results[f"{key}.test_dice.after_update"] = test.dice(predictor(new))[0]
        if full:
            full_copy, full_version, full_s = yield from restage(
                _full_retrain(project, data, config, folds, out / f"loop_full_round{k}"),
                f"measure 5: round {k} full retrain",
            )
            dice = test.dice(predictor(full_version, full_copy))[0]
            results[f"{key}.test_dice.full_retrain"] = dice
            results[f"{key}.full_retrain_s"] = full_s
            results[f"{key}.update_to_full"] = results[f"{key}.update_s"] / full_s
        curve["reviewed"].append(results[f"{key}.reviewed_share"])
        curve["label_dice"].append(label_dice)
        for arm, suffix in (
            ("before", "before"),
            ("after", "after_update"),
            ("full", "full_retrain"),
        ):
            curve["test"][arm].append(results.get(f"{key}.test_dice.{suffix}", math.nan))
        current = new
    results["loop.final_version"] = current
    return results, curve


def guard_keys(project, before: int, after: int, key: str) -> dict[str, float]:
    """What the update guard did in a round: ``.guard_kept`` (1 when the final model kept its
    parent's weights), ``.guard_kept_folds`` (fold models that did), ``.guard_judged`` (models
    judged at all), ``.guard_whole`` (models judged on whole trusted images rather than on
    reviewed regions, :func:`~napari_noisyfix.model.update_guard.judge_sample`); all 0 when
    the round made no update."""
    from ..model.checkpoints import load_checkpoint
    from ..model.update_guard import WHOLE

    guard = {}
    if after != before:
        guard = load_checkpoint(project.model_dir(after)).meta.get("guard", {})
    kept = guard.get("kept_parent", [])
    return {
        f"{key}.guard_kept": float("final model" in kept),
        f"{key}.guard_kept_folds": float(sum(m != "final model" for m in kept)),
        f"{key}.guard_judged": float(sum(m["judged"] for m in guard.get("models", []))),
        f"{key}.guard_whole": float(
            sum(m["judged"] and m.get("judge") == WHOLE for m in guard.get("models", []))
        ),
    }


def _split(name: str, when: str) -> str:
    """``pixel_ap.cleanlab`` + ``before`` -> ``pixel_ap.before.cleanlab``."""
    metric, _, method = name.partition(".")
    return f"{metric}.{when}" + (f".{method}" if method else "")
