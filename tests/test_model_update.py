"""Incremental update: reviewed pixels trusted, replay of every image, a new recorded version."""

import numpy as np
import pytest
import torch

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.model.checkpoints import load_checkpoint, save_checkpoint
from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.networks import build_model
from napari_noisyfix.model.update import (
    NOISY_WEIGHT,
    NORM_STATS,
    TRUSTED_WEIGHT,
    UPDATE_LR_SHARE,
    corrections_used,
    update,
    update_config,
    update_maps,
)
from napari_noisyfix.progress import drive
from napari_noisyfix.synth.sample import make_sample_project

CONFIG = TrainConfig.robust(
    encoder="mobilenet_v2", epochs=3, steps_per_epoch=2, batch_size=2, image_size=64, device="cpu"
)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    proj = make_sample_project(tmp_path_factory.mktemp("p") / "proj", n=6, size=64, seed=3)
    version, path = 1, proj.model_dir(1)
    save_checkpoint(
        path, build_model(CONFIG, 1, 2).state_dict(), CONFIG, 1, 2, [], {"kind": "train"}
    )
    assert proj.latest_model_version() == version
    noisy = next(n for n in proj.names if not proj.is_clean(n))
    region = np.zeros((64, 64), bool)
    region[10:30, 10:30] = True
    proj.mark_reviewed(noisy, region)
    mask = proj.mask(noisy).copy()
    mask[10:30, 10:30] = 1
    proj.save_mask(noisy, mask)
    return proj


def test_reviewed_pixels_weigh_more_than_unreviewed(project):
    weights, trusted = update_maps(project, project.names)
    for name in project.names:
        reviewed = project.reviewed(name)
        if project.is_clean(name):
            assert trusted[name].all() and (weights[name] >= 1).all()
        else:
            assert np.array_equal(trusted[name], reviewed)
            assert (weights[name][~reviewed] == NOISY_WEIGHT).all()
            assert (weights[name][reviewed] == TRUSTED_WEIGHT).all()
    assert TRUSTED_WEIGHT > NOISY_WEIGHT


def test_update_config_keeps_the_network_and_counts_steps():
    other = TrainConfig.plain(encoder="resnet34", lr=1e-4)
    cfg = update_config(CONFIG, other, 7)
    assert cfg.encoder == "mobilenet_v2" and cfg.loss == "ce"
    assert cfg.lr == pytest.approx(1e-4 * UPDATE_LR_SHARE)  # fine-tuning: a share of the rate
    assert (cfg.epochs, cfg.steps_per_epoch, cfg.filter_warmup, cfg.curriculum) == (1, 7, 0, False)
    assert cfg.warmup_steps == 1  # a quarter of the steps: the optimiser starts afresh
    with pytest.raises(NoisyFixError, match="at least 1 step"):
        update_config(CONFIG, None, 0)


def test_a_chain_of_updates_keeps_a_share_of_the_first_trainings_rate():
    # the parent is itself an update (its rate already a share): the next update starts from
    # the first training's rate again, not from a share of a share
    parent = update_config(CONFIG, None, 5)
    again = update_config(parent, None, 5, base_lr=CONFIG.lr)
    assert again.lr == pytest.approx(CONFIG.lr * UPDATE_LR_SHARE) == parent.lr


def test_update_writes_a_new_recorded_version(project):
    used = corrections_used(project, project.names)
    assert len(used) == 1 and used[0]["reviewed_pixels"] == 400 and used[0]["corrected"]
    version = drive(update(project, steps=2), quiet=True)
    assert version == 2 and project.model_versions() == [1, 2]
    ckpt = load_checkpoint(project.model_dir(2))
    assert ckpt.meta["parent_version"] == 1 and ckpt.meta["corrections"] == used
    assert ckpt.meta["schedule_lr"] == pytest.approx(CONFIG.lr)  # the next update's base rate
    parent = load_checkpoint(project.model_dir(1))
    assert ckpt.config.norm_stats == NORM_STATS  # the update's choice, recorded
    assert ckpt.meta["norm_stats"] == NORM_STATS
    assert any(not np.array_equal(parent.state[k], ckpt.state[k]) for k in parent.state)
    for name in project.names:
        assert project.load_probs(name, 2).shape == (2, 64, 64)
    row = project.log.rows("update")[-1]
    assert row["model_version"] == 2 and row["details"]["corrections"] == used


def test_update_needs_a_model(tmp_path):
    proj = make_sample_project(tmp_path / "empty", n=2, size=32, seed=0)
    with pytest.raises(NoisyFixError, match="no model yet"):
        drive(update(proj, steps=1), quiet=True)


def test_an_update_with_frozen_norm_keeps_the_parents_statistics(tmp_path):
    proj = make_sample_project(tmp_path / "frozen", n=4, size=64, seed=5)
    parent = build_model(CONFIG, 1, 2)
    with torch.no_grad():  # statistics an update would visibly move
        for name, buffer in parent.named_buffers():
            if "running_var" in name:
                buffer.fill_(4.0)
    save_checkpoint(proj.model_dir(1), parent.state_dict(), CONFIG, 1, 2, [], {"kind": "train"})
    name = proj.names[0]
    proj.mark_reviewed(name, np.ones((64, 64), bool))
    version = drive(update(proj, steps=2, guard=False, norm_stats="frozen"), quiet=True)
    ckpt, before = load_checkpoint(proj.model_dir(version)), load_checkpoint(proj.model_dir(1))
    assert ckpt.config.norm_stats == "frozen"
    stats = [k for k in before.state if "running_" in k]
    assert stats and all(np.array_equal(before.state[k], ckpt.state[k]) for k in stats)
    assert any(not np.array_equal(before.state[k], ckpt.state[k]) for k in before.state)


def test_an_update_estimates_its_statistics_again_on_the_project(tmp_path):
    from napari_noisyfix.model.data import normalize_image
    from napari_noisyfix.model.norm_stats import norm_layers

    proj = make_sample_project(tmp_path / "project", n=4, size=64, seed=5)
    save_checkpoint(proj.model_dir(1), build_model(CONFIG, 1, 2).state_dict(), CONFIG, 1, 2, [], {})
    proj.mark_reviewed(proj.names[0], np.ones((64, 64), bool))
    config = TrainConfig.from_dict({**CONFIG.to_dict(), "batch_size": 4})  # one batch of all
    job = update(proj, steps=2, config=config, guard=False, norm_stats="project")
    ckpt = load_checkpoint(proj.model_dir(drive(job, quiet=True)))
    assert ckpt.config.norm_stats == "project" and ckpt.meta["norm_stats"] == "project"
    model = build_model(CONFIG, 1, 2)
    model.load_state_dict({k: v.float() for k, v in ckpt.state.items()})
    first, seen = norm_layers(model)[0], []
    first.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    images = [torch.from_numpy(normalize_image(proj.image(n))) for n in proj.names]
    with torch.no_grad():  # 64 px crops of 64 px images: the pass saw exactly these
        model.eval()(torch.stack(images))
    flat = seen[0].transpose(0, 1).reshape(seen[0].shape[1], -1)
    assert torch.allclose(first.running_mean, flat.mean(1), atol=1e-4)
    assert torch.allclose(first.running_var, flat.var(1), rtol=1e-3, atol=1e-5)


def test_an_update_refuses_unknown_statistics(project):
    versions = project.model_versions()
    with pytest.raises(NoisyFixError, match="batch-norm statistics 'bogus'"):
        drive(update(project, steps=1, norm_stats="bogus"), quiet=True)
    assert project.model_versions() == versions
