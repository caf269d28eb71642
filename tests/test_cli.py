import os
import subprocess
import sys

import numpy as np
import pytest
from skimage.io import imread, imsave

from napari_noisyfix.cli import build_parser, main, prepare_demo
from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.project import Project

#: The demo's training when the shipped model does not fit its sample, as small as it gets.
TINY = TrainConfig.robust(epochs=1, steps_per_epoch=1, image_size=128, device="cpu", seed=0)

COMMANDS = [
    "demo",
    "sample",
    "import",
    "train",
    "update",
    "score",
    "review",
    "evaluate",
    "export",
    "benchmark",
]


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for cmd in COMMANDS:
        assert f"    {cmd}" in out


def _pngs(folder, names, shape=(16, 16), value=255):
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        img = np.zeros(shape, np.uint8)
        img[4:10, 4:10] = value
        imsave(folder / f"{n}.png", img, check_contrast=False)


def test_import_prints_summary_and_errors_are_one_line(tmp_path, capsys):
    _pngs(tmp_path / "img", ["a", "b"])
    _pngs(tmp_path / "msk", ["a", "b"])
    (tmp_path / "patients.csv").write_text("image,patient\na.png,P1\nb.png,P1\n")
    code = main(
        [
            "import",
            str(tmp_path / "img"),
            str(tmp_path / "msk"),
            str(tmp_path / "p"),
            "--patients",
            str(tmp_path / "patients.csv"),
            "--clean",
            "a",
        ]
    )
    assert code == 0
    assert "imported 2 images (1 patients, 1 clean, 2 classes)" in capsys.readouterr().out
    proj = Project.open(tmp_path / "p")
    assert proj.patients() == {"a": "P1", "b": "P1"} and proj.clean_names() == ["a"]

    code = main(["import", str(tmp_path / "img"), str(tmp_path / "msk"), str(tmp_path / "p")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("noisyfix: error: ") and "exists already" in err[0]

    os.remove(tmp_path / "msk" / "b.png")
    code = main(["import", str(tmp_path / "img"), str(tmp_path / "msk"), str(tmp_path / "q")])
    err = capsys.readouterr().err
    assert code == 2 and "b" in err and "without" in err
    assert not (tmp_path / "q").exists()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    project = prepare_demo(tmp_path_factory.mktemp("d") / "demo", n=4, size=48, config=TINY)
    project.close()  # the tests open it again, some in other processes
    return project


def test_prepare_demo_trains_and_scores_once(demo):
    assert demo.latest_model_version() == 1
    assert (demo.root / "scores" / "v0001" / "regions.csv").is_file()
    with prepare_demo(demo.root, n=4, size=48, config=TINY) as again:
        assert again.latest_model_version() == 1


def test_review_screenshot_renders_the_window(demo, tmp_path):
    proj = demo
    png = tmp_path / "shot.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "napari_noisyfix.cli",
            "review",
            str(proj.root),
            "--screenshot",
            str(png),
            "--reviewer",
            "tester",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    shot = imread(png)
    assert shot.shape[0] >= 400 and shot.shape[1] >= 600
    assert shot[..., :3].std() > 10
    assert Project.open(proj.root, mode="read").reviewer == "tester"


def test_threshold_overrides_are_parsed_and_checked():
    from napari_noisyfix.cli import _thresholds
    from napari_noisyfix.errors import NoisyFixError

    assert _thresholds(["1=0.6", "2=0.25"]) == {1: 0.6, 2: 0.25}
    assert _thresholds(None) is None
    for bad in (["x=0.5"], ["1"], ["1=1.5"]):
        with pytest.raises(NoisyFixError, match="--threshold"):
            _thresholds(bad)


def test_train_prints_the_budget_plan_and_its_estimate_before_training(tmp_path, capsys):
    from napari_noisyfix.model.checkpoints import load_checkpoint
    from napari_noisyfix.model.folds import fold_root
    from napari_noisyfix.synth.sample import make_sample_project

    make_sample_project(tmp_path / "p", n=6, size=64, seed=0).close()
    tiny = ["--epochs", "1", "--steps-per-epoch", "1", "--batch-size", "2", "--image-size", "64"]
    code = main(["train", str(tmp_path / "p"), "--budget", "quick", "--device", "cpu", *tiny])
    err = capsys.readouterr().err
    assert code == 0
    assert (
        "noisyfix: budget quick (chosen): 2 folds + a final model, 1 epochs x 1 steps of 2 crops "
        "of 64-px images, mobilenetv3_small on cpu; estimated about " in err
    )
    assert err.index("estimated") < err.index("fold 1/2")  # printed before training starts
    project = Project.open(tmp_path / "p", mode="read")
    model = project.model_dir(1)
    assert load_checkpoint(model).config.encoder == "mobilenetv3_small"
    assert sorted(p.name for p in fold_root(model).iterdir()) == ["0", "1"]


def test_train_accepts_the_mixmatch_strategy_and_saves_its_loss_terms(tmp_path):
    from napari_noisyfix.model.checkpoints import load_checkpoint
    from napari_noisyfix.synth.sample import make_sample_project

    make_sample_project(tmp_path / "p", n=6, size=64, seed=0).close()
    tiny = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "2", "--image-size", "64"]
    mixmatch = ["--strategy", "mixmatch", "--filter-warmup", "0", "--clean-pretrain-epochs", "0"]
    args = ["train", str(tmp_path / "p"), "--budget", "quick", "--device", "cpu"]
    assert main([*args, *tiny, *mixmatch]) == 0
    project = Project.open(tmp_path / "p", mode="read")
    ckpt = load_checkpoint(project.model_dir(1))
    assert ckpt.config.strategy == "mixmatch"
    epoch = ckpt.history[-1]
    assert epoch["mixmatch_lambda_u"] == 50.0  # the mean of 0 and 100 over the two steps
    assert epoch["mixmatch_supervised"] > 0 and epoch["mixmatch_unlabelled"] >= 0
