"""`noisyfix benchmark --labels instance` at the tiny budget on a generated folder of touching
disks (object ids in masks_instance/, their union in masks/, as the shared sets hold them)."""

import json
import math

import numpy as np
import pytest
from instance_samples import disks, image_of, merged_ids, split_ids, truth_ids
from PIL import Image

from napari_noisyfix.benchmark.instance_measure import error_groups, merge_split_ap
from napari_noisyfix.benchmark.results import INSTANCE_KEYS
from napari_noisyfix.quality.region import Region

INSTANCE_FIGURES = [k for k in INSTANCE_KEYS if k != "instance.arch"]


def write_instance_folder(root, n=8, size=64):
    """``n`` images of three touching pairs of disks and a lone one: uint16 ids in
    ``masks_instance/``, the 0/255 union in ``masks/``."""
    rng = np.random.default_rng(3)
    for sub in ("images", "masks", "masks_instance"):
        (root / sub).mkdir(parents=True)
    for i in range(n):
        spots = []
        for r0, c0 in ((14, 16), (32, 44), (50, 18)):
            r, c, rad = r0 + rng.integers(-2, 3), c0 + rng.integers(-2, 3), int(rng.integers(5, 7))
            spots += [((r, c - rad), rad), ((r, c + rad), rad)]
        spots.append(((int(rng.integers(8, 14)), int(rng.integers(48, 56))), 5))
        ids = disks((size, size), spots)
        name = f"nuc{i:02d}.png"
        Image.fromarray(image_of(ids, seed=i)).save(root / "images" / name)
        Image.fromarray(ids).save(root / "masks_instance" / name)
        Image.fromarray(((ids > 0) * 255).astype(np.uint8)).save(root / "masks" / name)
    return root


@pytest.fixture(scope="module")
def instance_run(tmp_path_factory):
    from napari_noisyfix.cli import main

    base = tmp_path_factory.mktemp("instbench")
    data = write_instance_folder(base / "nuclei")
    out = base / "out"
    argv = ["benchmark", str(data), "--labels", "instance", "--budget", "tiny", "--noise", "1"]
    assert main([*argv, "--device", "cpu", "--out", str(out)]) == 0
    return out, json.loads((out / "results.json").read_text())


def test_the_instance_keys_are_there_with_values_in_range(instance_run):
    out, r = instance_run
    assert r["instance.arch"] == "unet"
    for key in INSTANCE_FIGURES:
        assert isinstance(r[key], float) and 0.0 <= r[key] <= 1.0, key
    assert r["instance.merge_split_errors"] >= 1  # noise 1: merges and splits among the draws
    assert 0 <= r["instance.merge_split_recall"] <= 1
    table = (out / "results.md").read_text()
    assert "| AJI |" in table and "| object F1 (IoU 0.5) |" in table and "merge/split AP" in table


def test_the_projects_hold_object_ids_and_the_noise_merges_and_splits(instance_run):
    from napari_noisyfix.instance_labels import semantic
    from napari_noisyfix.project import Project

    out, r = instance_run
    assert r["noise.types"] == "protocol,instance"
    log = json.loads((out / "noise_log.json").read_text())
    assert {row["type"] for row in log} & {"merge", "split"}
    project = Project.open(out / "project", mode="read")
    assert project.is_instance
    name = project.names[0]
    assert project.truth_labels(name).max() == 7  # seven disks, ids kept
    assert np.array_equal(project.mask(name), semantic(project.labels(name)))
    review = Project.open(out / "review_noisyfix", mode="read")
    assert review.is_instance
    # measure 2 still reads the union: its label Dice starts at the noisy unions' Dice
    assert r["review.dice_before"] == pytest.approx(r["noise.mean_noisy_dice"])
    for key in ("detection.pixel_ap.noisyfix", "review.efficiency", "loop.round1.label_dice"):
        assert math.isfinite(r[key]), key


def test_error_groups_name_merges_and_splits():
    truth = truth_ids()
    assert error_groups("a", truth, truth) == []
    (merged,) = error_groups("a", merged_ids(), truth)
    assert merged.kind == "merged" and np.array_equal(merged.area, np.isin(truth, [5, 6]))
    (split,) = error_groups("a", split_ids(), truth)
    assert split.kind == "split" and np.array_equal(split.area, truth == 4)
    assert error_groups("a", np.zeros_like(truth), truth) == []


def _region(rid, kind, score, pixels):
    rows, cols = np.nonzero(pixels)
    sl = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
    return Region(
        id=rid, image="a", kind=kind, cls=1, score=score, prob_correct=score, gain=score,
        area=int(pixels.sum()), bbox=(sl[0].start, sl[1].start, sl[0].stop, sl[1].stop),
        region=pixels[sl].copy(), proposal=pixels[sl].astype(np.uint8), reason="test",
    )  # fmt: skip


def test_merge_split_ap_ranks_regions_by_score_against_the_errors():
    truth = truth_ids()
    given = merged_ids()
    given[given == 4] = 0
    given[(truth == 4) & (np.arange(64)[None, :] < 50)] = 4
    given[(truth == 4) & (np.arange(64)[None, :] >= 50)] = 7  # object 4 split as well
    groups = error_groups("a", given, truth)
    assert sorted(g.kind for g in groups) == ["merged", "split"]
    hit_merge = _region("a#0", "merged", 0.9, np.isin(truth, [5, 6]))
    wrong_place = _region("a#1", "split", 0.8, truth == 1)
    hit_split = _region("a#2", "split", 0.3, truth == 4)
    widened = _region("a#3", "too_wide", 0.99, truth == 2)  # not an object-level error
    out = merge_split_ap([widened, hit_split, wrong_place, hit_merge], groups)
    # ranked without the too_wide one: hit (P 1), miss, hit (P 2/3): AP = (1 + 2/3) / 2, every error found
    assert out["instance.merge_split_ap.noisyfix"] == pytest.approx((1 + 2 / 3) / 2)
    assert out["instance.merge_split_recall"] == 1.0
    assert out["instance.merge_split_regions"] == 3 and out["instance.merge_split_errors"] == 2
    assert merge_split_ap([hit_merge], groups)["instance.merge_split_ap.noisyfix"] == 0.5
    assert merge_split_ap([wrong_place], groups)["instance.merge_split_ap.noisyfix"] == 0.0
    assert math.isnan(merge_split_ap([hit_merge], [])["instance.merge_split_ap.noisyfix"])


def test_maskrcnn_needs_instance_labels(tmp_path):
    from napari_noisyfix.benchmark.run import run_benchmark
    from napari_noisyfix.errors import NoisyFixError
    from napari_noisyfix.progress import drive

    data = write_instance_folder(tmp_path / "nuclei", n=2)
    with pytest.raises(NoisyFixError, match="--arch maskrcnn needs instance masks"):
        drive(run_benchmark(data, tmp_path / "out", arch="maskrcnn"), quiet=True)
    assert not (tmp_path / "out").exists()  # refused before any work


def test_rescore_of_an_instance_run_rereads_the_object_ids(instance_run, tmp_path):
    from napari_noisyfix.benchmark.run import rescore_benchmark
    from napari_noisyfix.progress import drive

    out, r = instance_run
    again = drive(rescore_benchmark(out, out.parent / "nuclei", tmp_path / "re"), quiet=True)
    assert again["instance.arch"] == "unet"
    for key in ("instance.aji.before", "instance.object_f1.before", "instance.merge_split_errors"):
        assert again[key] == pytest.approx(r[key]), key  # same noise redrawn, same ids
