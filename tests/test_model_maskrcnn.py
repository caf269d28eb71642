"""Mask R-CNN on instance projects: targets from object ids, probability maps from detections,
out-of-fold training, score and update through the command line, and refusals elsewhere."""

import json

import numpy as np
import pytest
import torch
from instance_samples import disks, image_of, truth_ids

from napari_noisyfix.cli import main
from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.model import TrainConfig, build_model, load_checkpoint
from napari_noisyfix.model.maskrcnn import MaskRCNNNet, foreground_probability
from napari_noisyfix.model.maskrcnn_targets import grid_ids, instance_targets
from napari_noisyfix.model.networks import SegNet
from napari_noisyfix.model.predictor import Predictor
from napari_noisyfix.project import Project
from napari_noisyfix.quality.score import load_regions

TRAIN = [
    "--arch", "maskrcnn", "--folds", "2", "--epochs", "1", "--steps-per-epoch", "2",
    "--batch-size", "2", "--image-size", "64", "--device", "cpu", "--val-fraction", "0",
]  # fmt: skip


def test_targets_are_one_box_and_mask_per_id_and_none_for_an_empty_crop():
    ids = torch.zeros(10, 12, dtype=torch.int64)
    ids[2:5, 3:9] = 7
    ids[6:10, 0:2] = 3
    t = instance_targets(ids)
    assert t["boxes"].tolist() == [[0.0, 6.0, 2.0, 10.0], [3.0, 2.0, 9.0, 5.0]]  # ids 3, 7
    assert t["labels"].tolist() == [1, 1] and t["masks"].dtype == torch.uint8
    assert t["masks"].sum(dim=(1, 2)).tolist() == [8, 18]
    empty = instance_targets(torch.zeros(8, 8, dtype=torch.int64))
    assert empty["boxes"].shape == (0, 4) and empty["masks"].shape == (0, 8, 8)
    grid = grid_ids(64)
    assert len(torch.unique(grid)) == 33 and (grid > 0).float().mean() == 0.5


def _detection(masks, scores):
    masks = torch.from_numpy(np.asarray(masks, np.float32))[:, None]
    return {"masks": masks, "scores": torch.tensor(scores)}


def test_foreground_parts_touching_objects_and_drops_duplicates():
    left, right = np.zeros((4, 6), np.float32), np.zeros((4, 6), np.float32)
    left[:, :3], right[:, 3:] = 1.0, 1.0
    left[:, 3] = right[:, 2] = 0.5  # soft edges: both objects half claim the interface
    fg = foreground_probability(_detection([left, right], [0.9, 0.8]), (4, 6)).numpy()
    assert np.allclose(fg[:, 0], 0.9) and np.allclose(fg[:, 5], 0.8)
    assert fg[0, 2] == pytest.approx(0.9 * (1 - 0.4)) and fg[0, 2] < 0.6  # the cut
    duplicate = left * 0.9  # the same object again, worse: dropped, not a cut through it
    fg = foreground_probability(_detection([left, duplicate], [0.9, 0.7]), (4, 6)).numpy()
    assert np.allclose(fg[:, :3], 0.9)
    nothing = foreground_probability(_detection(np.zeros((0, 4, 6)), []), (4, 6))
    assert nothing.shape == (4, 6) and float(nothing.max()) == 0.0


def _instance_project(root) -> None:
    images, masks = {}, {}
    for i in range(4):
        ids = truth_ids()
        images[f"im{i}"], masks[f"im{i}"] = image_of(ids, seed=i), ids
    patients = {n: f"p{i}" for i, n in enumerate(images)}
    Project.create(root, images, masks, patients=patients, labels="instance").close()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A four-image instance project trained with Mask R-CNN (2 folds) and scored."""
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("mrcnn") / "P"
    _instance_project(root)
    assert main(["train", str(root), *TRAIN]) == 0
    assert main(["score", str(root)]) == 0
    return root


def test_checkpoints_reload_as_mask_rcnn_with_the_plain_recipe(trained):
    with Project.open(trained, mode="read") as project:
        ckpt = load_checkpoint(project.model_dir(1))
        folds = sorted((project.model_dir(1) / "folds").iterdir())
        record = json.loads((project.scores_dir(1) / "oof.json").read_text())
        image = project.image("im0")
    assert isinstance(ckpt.model, MaskRCNNNet) and ckpt.config.arch == "maskrcnn"
    assert ckpt.config.strategy == "plain" and ckpt.config.filter_threshold == 0
    assert "Mask R-CNN" in ckpt.meta["robust_strength"]
    assert len(folds) == 2 and all(isinstance(load_checkpoint(f).model, MaskRCNNNet) for f in folds)
    assert sorted(record["image_fold"]) == ["im0", "im1", "im2", "im3"]
    a = Predictor.load(trained / "models" / "v0001", device="cpu").predict(image, tta=True)
    b = Predictor.load(trained / "models" / "v0001", device="cpu").predict(image, tta=True)
    assert a.probs.shape == (2, 64, 64) and np.array_equal(a.probs, b.probs)
    assert a.probs.min() >= 0 and a.probs.max() <= 1
    assert np.allclose(a.probs.sum(0), 1, atol=1e-4) and a.uncertainty.shape == (64, 64)


def test_out_of_fold_maps_are_scored_into_regions(trained):
    with Project.open(trained, mode="read") as project:
        probs = {n: project.load_probs(n, 1) for n in project.names}
        regions = load_regions(project)
    assert all(p.shape == (2, 64, 64) and np.isfinite(p).all() for p in probs.values())
    assert all(float(p.min()) >= 0 and float(p.max()) <= 1 for p in probs.values())
    assert regions and {r.image for r in regions} <= set(probs)
    assert all(r.region.shape == (r.bbox[2] - r.bbox[0], r.bbox[3] - r.bbox[1]) for r in regions)


def test_update_retrains_mask_rcnn_from_a_correction(trained, capsys):
    with Project.open(trained) as project:
        ids = project.labels("im1").copy()
        ids[ids == 6] = 5  # the touching pair drawn as one
        project.save_mask("im1", ids)
        project.mark_reviewed("im1", ids > 0)
    assert main(["update", str(trained), "--steps", "1", "--device", "cpu"]) == 0
    assert "model version 2 saved" in capsys.readouterr().out
    with Project.open(trained, mode="read") as project:
        assert isinstance(load_checkpoint(project.model_dir(2)).model, MaskRCNNNet)
        assert project.load_probs("im1", 2).shape == (2, 64, 64)


def test_mask_rcnn_is_refused_on_a_semantic_project(tmp_path, capsys):
    mask = (disks((64, 64), [((32, 32), 12)]) > 0).astype(np.uint8)
    images = {f"s{i}": image_of(mask, seed=i) for i in range(2)}
    Project.create(tmp_path / "S", images, dict.fromkeys(images, mask)).close()
    assert main(["train", str(tmp_path / "S"), *TRAIN]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"noisyfix: error: {tmp_path / 'S'}: ")
    assert "instance project" in err[0]
    with Project.open(tmp_path / "S", mode="read") as project:
        assert project.latest_model_version() is None


def test_the_unet_is_still_built_and_mask_rcnn_needs_its_own_backbones():
    unet = build_model(TrainConfig(encoder="mobilenetv3_small"), 1, 2)
    assert isinstance(unet, SegNet) and unet(torch.zeros(1, 1, 64, 64)).shape == (1, 2, 64, 64)
    with pytest.raises(NoisyFixError, match="Mask R-CNN has no 'mobilenetv3_small' backbone"):
        TrainConfig(arch="maskrcnn", encoder="mobilenetv3_small")
    with pytest.raises(NoisyFixError, match="one object class"):
        build_model(TrainConfig(arch="maskrcnn"), 1, 3)
