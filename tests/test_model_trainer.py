"""Trainer: repeatable, cancellable, resumable; validation, early stopping and strategy phases."""

import pytest
import torch

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.trainer import TrainResult, split_validation, train
from napari_noisyfix.progress import drive
from napari_noisyfix.synth.sample import make_sample_project


def tiny(**kw):
    base = {"epochs": 1, "steps_per_epoch": 2, "batch_size": 2, "image_size": 64, "device": "cpu"}
    base["encoder"] = "mobilenet_v2"  # the lightest registered encoder keeps the tests fast
    return TrainConfig(**{"strategy": "plain", **base, **kw})


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return make_sample_project(tmp_path_factory.mktemp("p") / "proj", n=9, size=64, seed=1)


def run(project, config, **kw) -> TrainResult:
    return drive(train(project, config, **kw), quiet=True)


@pytest.fixture(scope="module")
def plain(project) -> TrainResult:
    return run(project, tiny(), val_names=[])


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_cpu_runs_are_repeatable(project, plain):
    assert same_weights(plain.state, run(project, tiny(), val_names=[]).state)
    assert not same_weights(plain.state, run(project, tiny(seed=1), val_names=[]).state)


def test_progress_and_history(project):
    cfg = tiny(epochs=2)
    reports = list(train(project, cfg, val_names=project.names[:3], names=project.names[3:]))
    steps = [p for p in reports if p.message.startswith("epoch") and "loss" in p.metrics]
    assert [p.step for p in steps] == [1, 2, 3, 4] and all(p.total == 4 for p in reports)
    assert all(p.metrics["loss"] > 0 for p in steps)
    result = drive(
        train(project, cfg, val_names=project.names[:3], names=project.names[3:]), quiet=True
    )
    assert [h["epoch"] for h in result.history] == [0, 1]
    for h in result.history:
        assert h["train_loss"] > 0 and 0 <= h["val_dice"] <= 1 and h["val_loss"] > 0
    assert result.best_epoch in (0, 1) and result.steps == 4


def test_cancel_writes_nothing_and_resume_starts_from_given_weights(project, plain):
    job = train(project, tiny(epochs=3), val_names=[])
    for _ in range(3):
        next(job)
    job.close()  # the consumer cancels between steps
    assert project.model_versions() == [] and not any((project.root / "scores").iterdir())
    first = plain
    resumed = run(project, tiny(lr=0.0, weight_decay=0.0), val_names=[], init_state=first.state)
    conv = [k for k, v in first.state.items() if v.ndim == 4]  # convolution kernels
    assert conv and all(torch.equal(first.state[k], resumed.state[k]) for k in conv)


def test_early_stopping_keeps_the_best_epoch(project, monkeypatch):
    import numpy as np

    from napari_noisyfix.model import trainer

    dices = iter([0.5, 0.4, 0.6, 0.3, 0.2, 0.9])
    states = []

    def fake_scores(model, samples, *args):
        states.append({k: v.clone() for k, v in model.state_dict().items()})
        return np.ones(len(samples)), np.full(len(samples), next(dices))

    monkeypatch.setattr(trainer, "score_samples", fake_scores)
    cfg = tiny(epochs=6, patience=2)
    result = run(project, cfg, names=project.names[3:], val_names=project.names[:3])
    assert [h["val_dice"] for h in result.history] == pytest.approx([0.5, 0.4, 0.6, 0.3, 0.2])
    assert result.best_epoch == 2
    assert same_weights(result.state, states[2]) and not same_weights(result.state, states[4])


def test_validation_split_is_patient_level(project):
    train_names, val_names = split_validation(project, project.names, tiny(val_fraction=0.34))
    assert val_names and train_names
    assert not {project.patient(n) for n in train_names} & {project.patient(n) for n in val_names}
    assert split_validation(project, project.names, tiny(val_fraction=0.0))[1] == []


def test_clean_pretraining_then_noisy_phase(project):
    clean = project.clean_names()
    assert clean
    result = run(project, tiny(epochs=2, clean_pretrain_epochs=1), val_names=[])
    assert [h["phase"] for h in result.history] == ["clean", "noisy"]
    assert result.history[0]["pool"] == len(clean)
    assert result.history[1]["pool"] == len(project.names)


def test_curriculum_pool_widens(project):
    result = run(project, tiny(epochs=3, curriculum=True, curriculum_start=0.3), val_names=[])
    pools = [h["pool"] for h in result.history]
    assert pools == sorted(pools) and pools[0] < pools[-1] == len(project.names)


def test_filtering_reports_lowered_pixels_after_warmup(project):
    cfg = tiny(epochs=2, filter_threshold=0.5, filter_warmup=1)
    history = run(project, cfg, val_names=[]).history
    assert history[0]["filtered"] == 0
    assert history[1]["filtered"] > 0


def test_strategies_change_training(project, plain):
    for extra in (
        {"consistency_weight": 1.0},
        {"pseudo_threshold": 0.5, "filter_warmup": 0},
        {"mixup_alpha": 0.4, "mixup_prob": 1.0},
    ):
        other = run(project, tiny(**extra), val_names=[])
        assert not same_weights(plain.state, other.state)


def test_cuda_requested_without_gpu(project, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(NoisyFixError, match="no CUDA GPU available"):
        run(project, tiny(device="cuda"))


def test_bad_inputs(project, plain):
    with pytest.raises(NoisyFixError, match="no images"):
        run(project, tiny(), names=[], val_names=[])
    with pytest.raises(NoisyFixError, match="sampling"):
        run(project, tiny(), val_names=[], sampling=dict.fromkeys(project.names, 0.0))
    wrong = {k: v for k, v in plain.state.items() if "decoder" not in k}
    with pytest.raises(NoisyFixError, match="starting weights"):
        run(project, tiny(), val_names=[], init_state=wrong)


def test_tloss_learns_nu_logs_it_and_keeps_it_in_the_checkpoint(project, tmp_path):
    from napari_noisyfix.model.checkpoints import load_checkpoint, save_checkpoint
    from napari_noisyfix.model.predictor import Predictor

    cfg = tiny(loss="tloss", epochs=2, lr=0.05)
    result = run(project, cfg, val_names=[])
    nus = [h["tloss_nu"] for h in result.history]
    assert len(nus) == 2 and all(nu != pytest.approx(1.0, abs=1e-4) for nu in nus)
    saved = float(result.state["loss.log_nu"].exp())
    assert saved == pytest.approx(nus[-1], rel=1e-5)
    Predictor.from_result(result)  # the loss's key does not disturb the network
    path = save_checkpoint(tmp_path / "m", result.state, cfg, 1, 2, result.history)
    ckpt = load_checkpoint(path)
    assert float(ckpt.state["loss.log_nu"].exp()) == pytest.approx(saved)
    resumed = run(project, tiny(loss="tloss", lr=1e-6), val_names=[], init_state=ckpt.state)
    assert resumed.history[0]["tloss_nu"] == pytest.approx(saved, rel=1e-3)  # restored, not 1.0


def test_adaptive_run_records_the_strength_it_chose(project):
    cfg = tiny(strategy="adaptive", epochs=2, filter_warmup=1, clean_pretrain_epochs=0)
    result = run(project, cfg, val_names=project.names[:3], names=project.names[3:])
    noise = result.noise
    assert noise is not None and noise["source"] == "validation patients"
    assert 0 <= noise["strength"] <= 1 and noise["pixels"] > 0
    assert [h["strength"] for h in result.history] == [0.0, noise["strength"]]
    assert result.strength_text() == noise["describe"]
    assert "label" in noise["describe"]
    plain = run(project, tiny(), val_names=[])
    assert plain.noise is None and plain.strength_text() == "plain training (cross-entropy)"


def test_adaptive_run_at_strength_zero_is_plain_training_bit_for_bit(project):
    """No harm by construction: when the estimate finds nothing to filter, the run is plain CE."""
    adaptive = tiny(strategy="adaptive", epochs=2, filter_warmup=1, clean_pretrain_epochs=0)
    adaptive.filter_threshold = 1.0  # nothing can be contradicted above 1: strength 0
    result = run(project, adaptive, val_names=project.names[:3], names=project.names[3:])
    assert result.noise["strength"] == 0 and result.noise["dice_weight"] == 0
    plain = run(project, tiny(epochs=2), val_names=project.names[:3], names=project.names[3:])
    assert same_weights(result.state, plain.state)
