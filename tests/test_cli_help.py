"""`noisyfix --help` texts show the values an unset option takes; `noisyfix --version`."""

import re
import subprocess
import sys
from importlib import metadata

import pytest

from napari_noisyfix.cli import UPDATE_SETS, build_parser, main
from napari_noisyfix.model.config import TrainConfig, default_text
from napari_noisyfix.model.update import NORM_STATS, UPDATE_LR_SHARE, update_config


def _help(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines


def test_version_prints_the_installed_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"noisyfix {metadata.version('napari-noisyfix')}"


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_train_help_shows_the_recipe_values(capsys, command):
    text = _help(capsys, command, "P")
    config = TrainConfig()
    if command == "train":  # the budget sets network, schedule and crop size
        assert "training epochs (default: set by --budget)" in text
        assert "optimiser steps per epoch (default: set by --budget)" in text
        assert "encoder backbone (default: set by --budget)" in text
        assert "(default: auto)" in text and "(default: set by --budget;" in text
    else:
        assert f"training epochs (default: {config.epochs})" in text
        assert f"optimiser steps per epoch (default: {config.steps_per_epoch})" in text
        assert f"(default: {config.image_size})" in text
    assert f"crops per step (default: {config.batch_size})" in text
    assert f"(default: {config.lr})" in text
    assert "(default: ce_dice (mixmatch, robust, adaptive), ce (plain))" in text
    assert "(default: off (mixmatch, robust, plain), on (adaptive))" in text
    assert "(default: None)" not in text
    chunks = re.split(r" (?=--(?!no-)[a-z])", text[text.index("training:") :])
    shown = {chunk.split()[0].rstrip(","): chunk for chunk in chunks[1:]}
    for name in TrainConfig.cli_fields():
        assert "(default: " in shown["--" + name.replace("_", "-")], name


def test_every_shown_default_is_what_an_unset_option_gives():
    from napari_noisyfix.cli import training_plan
    from napari_noisyfix.model.budget import BUDGETED, BUDGETS, auto_budget

    args = build_parser().parse_args(["train", "P"])
    plan = training_plan(args)
    built, spec = plan.config, BUDGETS[auto_budget()]
    assert plan.budget == spec.name and plan.folds == spec.folds
    for name in TrainConfig.cli_fields():
        assert getattr(args, name) is None  # unset still means "the budget / recipe decides"
        if name in BUDGETED:
            assert getattr(built, name) == getattr(spec, name), name
            continue
        assert default_text(name).split(" (")[0] in (
            str(getattr(built, name)),
            {True: "on", False: "off", None: "none"}.get(getattr(built, name), "?"),
        ), name


def test_update_offers_only_the_options_it_uses(capsys):
    text = _help(capsys, "update", "P")
    assert "optimiser steps per model (default: a fifth of the first training's" in text
    assert build_parser().parse_args(["update", "P"]).steps is None
    for name in set(UPDATE_SETS) - {"norm_stats"}:  # an option of update's own, below
        assert "--" + name.replace("_", "-") + " " not in text
    with pytest.raises(SystemExit):
        build_parser().parse_args(["update", "P", "--epochs", "3"])


def test_update_takes_where_its_batch_norm_statistics_come_from(capsys):
    text = " ".join(_help(capsys, "update", "P").split())
    assert f"(default: {NORM_STATS})" in text and "--norm-stats {batches,frozen,project}" in text
    assert build_parser().parse_args(["update", "P"]).norm_stats is None  # the update's default
    assert build_parser().parse_args(["update", "P", "--norm-stats", "project"]).norm_stats == (
        "project"
    )
    with pytest.raises(SystemExit):
        build_parser().parse_args(["update", "P", "--norm-stats", "precise"])
    capsys.readouterr()


def test_options_update_offers_reach_the_update_config():
    """Guards UPDATE_SETS against update_config: an option shown is an option used."""
    base = TrainConfig(encoder="mobilenet_v2", device="cpu")
    given = TrainConfig(
        strategy="plain",
        loss="sce",
        lr=0.01,
        batch_size=3,
        seed=4,
        filter_threshold=0.5,
        mixup_alpha=0.2,
        augment_flips=False,
        image_size=96,
        device="cpu",
    )
    cfg = update_config(base, given, 7)
    for name in set(TrainConfig.cli_fields()) - set(UPDATE_SETS) - {"lr"}:
        assert getattr(cfg, name) == getattr(given, name), name
    assert cfg.lr == pytest.approx(given.lr * UPDATE_LR_SHARE)  # a fine-tuning share of --lr
    assert cfg.epochs == 1 and cfg.steps_per_epoch == 7 and cfg.encoder == "mobilenet_v2"


def test_other_commands_show_their_defaults(capsys):
    assert "number of images (default: 24)" in _help(capsys, "demo")
    assert "cross-validation folds (default: 5)" in _help(capsys, "evaluate", "P")
    text = _help(capsys, "import", "D", "P")
    assert "IMAGES MASKS PROJECT | DATA PROJECT" in text and "a_masks.png" in text


def test_the_parser_is_built_without_torch():
    """Every command's options and defaults are known without importing torch (seconds): help,
    import, export and review start at once."""
    code = (
        "import sys; from napari_noisyfix.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('torch', 'segmentation_models_pytorch') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
