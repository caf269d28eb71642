"""TrainConfig recipes, overrides, (de)serialisation and the command-line options."""

import argparse
import json

import pytest

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.model.config import ADAPTIVE, PLAIN, ROBUST, TrainConfig, add_train_arguments


def test_plain_recipe_has_no_strategy():
    cfg = TrainConfig.plain()
    assert cfg.loss == "ce"
    assert cfg.filter_threshold == 0 and cfg.pseudo_threshold == 0
    assert cfg.consistency_weight == 0 and cfg.mixup_alpha == 0
    assert cfg.clean_pretrain_epochs == 0 and cfg.curriculum is False


def test_default_is_mixmatch_on_the_robust_recipe_and_adaptive_is_its_parts_with_a_strength():
    cfg = TrainConfig()
    assert cfg.strategy == "mixmatch" and cfg.auto_strength is False
    for key, value in ROBUST.items():
        assert getattr(cfg, key) == value
    assert TrainConfig.robust().strategy == "robust"
    assert TrainConfig.adaptive().auto_strength is True
    assert {k: v for k, v in ADAPTIVE.items() if k != "auto_strength"} == {
        k: v for k, v in ROBUST.items() if k != "auto_strength"
    }
    assert ROBUST != PLAIN and TrainConfig.robust().auto_strength is False


def test_explicit_fields_win_over_the_recipe():
    cfg = TrainConfig.plain(mixup_alpha=0.4, loss="gce")
    assert cfg.mixup_alpha == 0.4 and cfg.loss == "gce"
    assert cfg.filter_threshold == 0


def test_round_trip_through_json():
    cfg = TrainConfig.robust(epochs=3, image_size=64, encoder="mobilenet_v2")
    again = TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


def test_unknown_keys_and_bad_values_are_refused():
    with pytest.raises(NoisyFixError, match="colour"):
        TrainConfig.from_dict({"colour": "red"})
    with pytest.raises(NoisyFixError, match="multiple of 32"):
        TrainConfig(image_size=100)
    with pytest.raises(NoisyFixError, match="strategy"):
        TrainConfig(strategy="magic")
    with pytest.raises(NoisyFixError, match="filter mode"):
        TrainConfig(filter_mode="drop")
    with pytest.raises(NoisyFixError, match="at least 1"):
        TrainConfig(epochs=0)


def test_image_size_zero_means_whole_images():
    assert TrainConfig(image_size=0).image_size is None


def parse(argv):
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    return parser.parse_args(argv)


def test_cli_options_default_to_none_with_field_dests():
    args = parse([])
    for name in TrainConfig.cli_fields():
        assert getattr(args, name) is None


def test_cli_options_build_the_config_like_the_cli_does():
    args = parse(
        [
            "--epochs",
            "3",
            "--steps-per-epoch",
            "4",
            "--batch-size",
            "2",
            "--image-size",
            "64",
            "--encoder",
            "resnet34",
            "--arch",
            "unetplusplus",
            "--loss",
            "sce",
            "--lr",
            "0.01",
            "--device",
            "cpu",
            "--seed",
            "5",
            "--strategy",
            "plain",
            "--no-amp",
            "--curriculum",
            "--mixup-alpha",
            "0.3",
        ]
    )
    given = {k: getattr(args, k) for k in TrainConfig.cli_fields() if getattr(args, k) is not None}
    cfg = TrainConfig(**given)
    assert (cfg.epochs, cfg.steps_per_epoch, cfg.batch_size, cfg.image_size) == (3, 4, 2, 64)
    assert (cfg.encoder, cfg.arch, cfg.loss, cfg.lr, cfg.seed) == (
        "resnet34",
        "unetplusplus",
        "sce",
        0.01,
        5,
    )
    assert cfg.amp is False and cfg.curriculum is True and cfg.mixup_alpha == 0.3
    assert cfg.filter_threshold == 0  # the plain recipe filled the rest


def test_cli_rejects_unknown_choices():
    with pytest.raises(SystemExit):
        parse(["--encoder", "vgg"])


def test_config_from_args_takes_only_given_options():
    import argparse

    from napari_noisyfix.model.config import TrainConfig, add_train_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    config = config_from_args(parser.parse_args(["--epochs", "3", "--strategy", "plain"]))
    assert config.epochs == 3 and config.strategy == "plain" and config.loss == "ce"
    assert config.batch_size == TrainConfig().batch_size
