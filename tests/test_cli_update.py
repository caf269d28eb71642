"""The command line on a one-patient project: train (folds of consecutive slices, one warning
line), score (plain words and the next step), update (refused without corrections, else a new
version and rescoring)."""

import io
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest

from napari_noisyfix.cli import main
from napari_noisyfix.model.checkpoints import load_checkpoint
from napari_noisyfix.model.update import UPDATE_LR_SHARE
from napari_noisyfix.project import Project
from napari_noisyfix.quality.score import scored_version

TRAIN = [
    "--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "2", "--image-size", "64",
    "--encoder", "mobilenet_v2", "--device", "cpu",
]  # fmt: skip


def _disc(i: int) -> np.ndarray:
    yy, xx = np.mgrid[:64, :64]
    return ((yy - 30 - i) ** 2 + (xx - 32) ** 2 < 14**2).astype(np.uint8)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 4-slice, one-patient project trained through the command line; what train printed."""
    root = tmp_path_factory.mktemp("cli") / "vol"
    names = [f"vol_z{z:03d}" for z in range(4)]
    rng = np.random.default_rng(0)
    images = {
        n: (_disc(i) * 0.6 + rng.random((64, 64)) * 0.4).astype(np.float32)
        for i, n in enumerate(names)
    }
    masks = {n: _disc(i) for i, n in enumerate(names)}
    Project.create(root, images, masks, patients=dict.fromkeys(names, "vol")).close()
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["train", str(root), "--folds", "2", *TRAIN])
    return root, code, out.getvalue(), err.getvalue()


def test_train_one_patient_warns_once_in_one_line(trained):
    _, code, out, err = trained
    warnings = [s for s in err.splitlines() if s.startswith("noisyfix: warning: ")]
    assert code == 0 and "model version 1 saved" in out
    assert "robust strength: " in out
    assert len(warnings) == 1 and "one patient" in warnings[0] and "consecutive" in warnings[0]


def test_score_prints_plain_words_and_the_next_step(trained, capsys):
    root = trained[0]
    assert main(["score", str(root)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("v0001: rescored ") and " of 4 images" in lines[0]
    assert "foreground than the labels" in lines[0] and "log-odds" not in lines[0]
    assert lines[-1].startswith("next: ") and f"noisyfix review {root}" in lines[-1]


def test_update_is_refused_without_corrections_and_rescores_after_one(trained, capsys):
    root = trained[0]
    assert main(["update", str(root), "--steps", "1", "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("noisyfix: error: ")
    assert "no corrections since model version 1" in err[0]
    with Project.open(root) as project:
        assert project.latest_model_version() == 1
        mask = project.mask("vol_z001").copy()
        mask[5:15, 5:15] = 1
        project.save_mask("vol_z001", mask)
        project.mark_reviewed("vol_z001", mask.astype(bool))
    assert main(["update", str(root), "--steps", "1", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "model version 2 saved" in out
    assert f"project rescored with model version 2; next: noisyfix review {root}" in out
    with Project.open(root, mode="read") as project:
        assert project.latest_model_version() == 2 and scored_version(project) == 2
        parent = load_checkpoint(project.model_dir(1)).config
        child = load_checkpoint(project.model_dir(2)).config
    # options not given keep the model's own settings (as the GUI's Retrain), not the defaults
    assert (child.batch_size, child.image_size, child.loss) == (2, 64, parent.loss)
    assert child.lr == pytest.approx(parent.lr * UPDATE_LR_SHARE)
