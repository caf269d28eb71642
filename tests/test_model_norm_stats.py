"""Where the batch-norm statistics come from: frozen while training, or estimated again."""

import numpy as np
import pytest
import torch

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.data import load_samples
from napari_noisyfix.model.networks import build_model
from napari_noisyfix.model.norm_stats import (
    MAX_IMAGES,
    estimate_statistics,
    freeze_norm_statistics,
    norm_layers,
    statistics_batches,
)
from napari_noisyfix.synth.sample import make_sample_project

CPU = torch.device("cpu")


def first_norm_inputs(model, batches) -> list[torch.Tensor]:
    """What the first batch-norm layer receives from each batch (in eval mode it depends on the
    weights before it only)."""
    seen = []
    hook = norm_layers(model)[0].register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    model.eval()
    with torch.no_grad():
        for images in batches:
            model(images)
    hook.remove()
    return seen


def channel_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    flat = x.transpose(0, 1).reshape(x.shape[1], -1)
    return flat.mean(1), flat.var(1, unbiased=True)


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    proj = make_sample_project(tmp_path_factory.mktemp("bn") / "p", n=6, size=64, seed=2)
    return load_samples(proj, proj.names)


def test_estimated_statistics_are_those_of_the_sampled_activations(samples):
    torch.manual_seed(0)
    model = build_model(TrainConfig(encoder="mobilenet_v2", dropout=0.5), 1, 2)
    with torch.no_grad():  # statistics far from any image's
        for name, buffer in model.named_buffers():
            if "running_mean" in name:
                buffer.fill_(5.0)
    model.train()
    momenta = [m.momentum for m in norm_layers(model)]
    batches = statistics_batches(np.random.default_rng(0), samples, (64, 64), 3)
    assert [len(b) for b in batches] == [3, 3]  # every image once, in equal batches
    assert estimate_statistics(model, batches, CPU) == len(momenta)
    first = norm_layers(model)[0]
    inputs = first_norm_inputs(model, batches)
    mean, _ = channel_stats(torch.cat(inputs))
    variances = torch.stack([channel_stats(x)[1] for x in inputs])
    # the cumulative average: the exact mean of all crops, the mean of the batches' variances
    assert torch.allclose(first.running_mean, mean, atol=1e-5)
    assert torch.allclose(first.running_var, variances.mean(0), rtol=1e-4, atol=1e-6)
    assert int(first.num_batches_tracked) == 2
    deepest = norm_layers(model)[-1]
    assert not torch.allclose(deepest.running_mean, torch.full_like(deepest.running_mean, 5.0))
    assert [m.momentum for m in norm_layers(model)] == momenta


def test_the_pass_restores_every_mode(samples):
    model = build_model(TrainConfig(encoder="mobilenet_v2"), 1, 2)
    batches = statistics_batches(np.random.default_rng(1), samples, (64, 64), 6)
    model.train()
    estimate_statistics(model, batches, CPU)
    assert all(m.training for m in model.modules())
    model.eval()
    estimate_statistics(model, batches, CPU)
    assert not any(m.training for m in model.modules())


def test_statistics_batches_are_bounded_and_equal(samples):
    rng = np.random.default_rng(0)
    many = samples * 30  # 180 images
    batches = statistics_batches(rng, many, (32, 32), 8)
    assert sum(map(len, batches)) == MAX_IMAGES and {len(b) for b in batches} == {8}
    assert batches[0].shape[1:] == (1, 32, 32)
    few = statistics_batches(rng, samples[:2], (64, 64), 8)  # fewer than a batch: one batch
    assert [len(b) for b in few] == [2]


def test_frozen_norm_statistics_stay_while_the_rest_learns():
    torch.manual_seed(0)
    model = build_model(TrainConfig(encoder="mobilenet_v2", dropout=0.0), 1, 2)
    assert freeze_norm_statistics(model) > 0
    model.train()  # the trainer and its validation switch modes; the freeze must survive it
    stats = {k: b.clone() for k, b in model.named_buffers() if "running_" in k}
    params = {k: p.detach().clone() for k, p in model.named_parameters()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(2, 1, 32, 32) * 3 + 1).mean().backward()
        opt.step()
    assert all(torch.equal(b, stats[k]) for k, b in model.named_buffers() if k in stats)
    moved = {k for k, p in model.named_parameters() if not torch.equal(p, params[k])}
    norms = {
        f"{name}.weight"
        for name, m in model.named_modules()
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
    }
    assert moved & norms and len(moved) > len(params) // 2  # their scales learn too
    assert model.training  # dropout and the rest keep their training mode


def test_norm_stats_is_checked_and_old_settings_are_read():
    with pytest.raises(NoisyFixError, match="batch-norm statistics 'precise'"):
        TrainConfig(norm_stats="precise")
    old = {k: v for k, v in TrainConfig().to_dict().items() if k != "norm_stats"}
    assert TrainConfig.from_dict({**old, "freeze_norm": True}).norm_stats == "frozen"
    assert TrainConfig.from_dict({**old, "freeze_norm": False}).norm_stats == "batches"
