"""New model versions: probabilities stored, stale leftovers cleared, checkpoint last, event logged."""

import numpy as np

from napari_noisyfix.model.checkpoints import load_checkpoint
from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.networks import build_model
from napari_noisyfix.model.trainer import TrainResult
from napari_noisyfix.model.versions import commit_version, predict_names
from napari_noisyfix.project import Project


def test_commit_version(tmp_path):
    images = {
        n: np.random.default_rng(i).random((32, 32)).astype(np.float32) for i, n in enumerate("ab")
    }
    project = Project.create(
        tmp_path / "p", images, {n: np.zeros((32, 32), np.uint8) for n in "ab"}
    )
    cfg = TrainConfig(encoder="mobilenet_v2", image_size=64, device="cpu")
    result = TrainResult(build_model(cfg, 1, 2).state_dict(), [{"epoch": 0}], 0, cfg, 1, 2)
    stale = project.save_probs(1, "b", np.full((2, 32, 32), 0.5))  # left by a cancelled run
    probs = predict_names(project, result, ["a"])
    assert probs["a"].dtype == np.float16 and probs["a"].shape == (2, 32, 32)
    version = commit_version(project, result, probs, {"kind": "test"}, "train", {"why": "test"})
    assert version == 1 and not stale.exists()
    assert np.allclose(project.load_probs("a", 1), probs["a"].astype(np.float32))
    assert load_checkpoint(project.model_dir(1)).meta == {"kind": "test"}
    assert project.log.rows("train")[-1]["details"] == {"why": "test"}
