"""`noisyfix synth train | generate` and `noisyfix synth-benchmark`: the flow and the refusals."""

import json

import numpy as np
from skimage.io import imsave

from napari_noisyfix.cli import main
from napari_noisyfix.project import Project

TINY_GEN = [
    "--size",
    "24",
    "--scales",
    "2",
    "--iters",
    "30",
    "--width",
    "8",
    "--lr",
    "3e-3",
    "--device",
    "cpu",
]


def _error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("noisyfix: error: ") and "\n" not in err
    return err


def _project(root, empty=("c",)):
    images, masks = {}, {}
    rng = np.random.default_rng(0)
    for k, name in enumerate("abcd"):
        mask = np.zeros((28, 28), np.uint8)
        if name not in empty:
            mask[5 + k : 15 + k, 6:18] = 1
        images[name] = (mask * 150 + rng.integers(0, 60, mask.shape)).astype(np.uint8)
        masks[name] = mask
    Project.create(root, images, masks).close()
    return root


def test_synth_train_refuses_a_missing_project(capsys, tmp_path):
    err = _error(capsys, ["synth", "train", str(tmp_path / "nope"), *TINY_GEN])
    assert "nope: not a noisyfix project" in err


def test_synth_train_refuses_a_maskless_image(capsys, tmp_path):
    root = _project(tmp_path / "p")
    err = _error(capsys, ["synth", "train", str(root), "--names", "c", *TINY_GEN])
    assert "c: mask is empty" in err
    err = _error(capsys, ["synth", "train", str(root), "--images", "4", *TINY_GEN])
    assert "--images 4: the project has 3 images with objects" in err


def test_synth_generate_refuses_without_generators(capsys, tmp_path):
    root = _project(tmp_path / "p")
    err = _error(capsys, ["synth", "generate", str(root), "--per-image", "2"])
    assert "run noisyfix synth train first" in err


def test_train_then_generate_adds_marked_training_pairs(capsys, tmp_path):
    root = _project(tmp_path / "p")
    assert main(["synth", "train", str(root), "--images", "2", *TINY_GEN]) == 0
    assert "generator v0001" in capsys.readouterr().out
    assert main(["synth", "generate", str(root), "--per-image", "2", "--style", "fda"]) == 0
    config = json.loads((root / "project.json").read_text())
    syn = config["synthetic"]
    assert len(syn) == 4 and {e["style"] for e in syn} == {"fda"}
    assert all(e["synthetic"] and e["generator_version"] == 1 for e in syn)
    assert {e["source"] for e in syn} <= {"a", "b", "d"}
    assert len(config["images"]) == 4  # the real list is untouched
    proj = Project.open(root, mode="read")
    for name in proj.synthetic_names():
        assert proj.image(name).shape == (28, 28) and proj.mask(name).any()
    capsys.readouterr()
    err = _error(capsys, ["synth", "generate", str(root), "--style", "adain_encoder"])
    assert "style adain_encoder needs a trained model; run noisyfix train first" in err
    # generating again replaces, never piles up
    assert main(["synth", "generate", str(root), "--per-image", "1", "--style", "none"]) == 0
    assert len(Project.open(root, mode="read").synthetic_names()) == 2


def _folder(root, n=8):
    for sub in ("images", "masks"):
        (root / sub).mkdir(parents=True)
    rng = np.random.default_rng(1)
    for k in range(n):
        mask = np.zeros((64, 64), np.uint8)
        mask[10 + k : 34 + k, 12:40] = 255
        image = (mask * 0.5 + rng.integers(0, 80, mask.shape)).astype(np.uint8)
        imsave(root / "images" / f"i{k}.png", image, check_contrast=False)
        imsave(root / "masks" / f"i{k}.png", mask, check_contrast=False)
    return root


def test_synth_benchmark_refuses_real_larger_than_a_fold(capsys, tmp_path):
    data = _folder(tmp_path / "d")
    argv = ["synth-benchmark", str(data), "--budget", "tiny", "--device", "cpu"]
    err = _error(capsys, [*argv, "--real", "5", "--out", str(tmp_path / "o")])
    assert "--real 5: must be 1..4" in err


def test_synth_benchmark_tiny_writes_every_arm(capsys, tmp_path):
    from napari_noisyfix.benchmark.synthetic_pairs import ARMS
    from napari_noisyfix.evaluate import METRICS

    data = _folder(tmp_path / "d")
    out = tmp_path / "o"
    argv = ["synth-benchmark", str(data), "--budget", "tiny", "--device", "cpu"]
    assert main([*argv, "--real", "2", "--synthetic", "4", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    for arm in ARMS:
        for metric in METRICS:
            for stat in ("mean", "std"):
                assert 0.0 <= results[f"cv.{arm}.{metric}.{stat}"] <= 1.0
    assert results["generator.seconds_per_image.mean"] > 0
    assert (out / "pairs.png").stat().st_size > 1000
    assert "real_plus_synthetic_nostyle" in (out / "results.md").read_text()
    proj = Project.open(out / "project", mode="read")
    assert len(proj.names) == 8 and len(proj.synthetic_names()) == 2 * 3 * 4  # folds, kinds
    encoded = [n for n in proj.synthetic_names() if proj.entry(n)["style"] == "adain_encoder"]
    assert len(encoded) == 2 * 4
    for name in encoded:  # the encoder arm restyles the unstyled pairs; their masks stay
        raw = name.replace(".f0e", ".f0r").replace(".f1e", ".f1r")
        np.testing.assert_array_equal(proj.mask(name), proj.mask(raw))
        assert not np.array_equal(proj.image(name), proj.image(raw))
