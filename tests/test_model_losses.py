"""Losses against values computed by hand on 1x2-pixel images, with weights and ignored pixels."""

import math

import pytest
import torch

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.losses import (
    IGNORE,
    TLoss,
    ce_dice,
    cross_entropy,
    gce,
    make_loss,
    prepare_target,
    sce,
    soft_dice,
    split_state,
)

# two pixels, two classes: p(fg) = sigmoid(logit difference)
P = (0.8, 0.3)  # foreground probability of pixel 0 and pixel 1
TARGET = torch.tensor([[[1, 0]]])  # pixel 0 foreground, pixel 1 background


def logits_for(probs) -> torch.Tensor:
    """(1, 2, 1, n) logits whose softmax gives foreground probabilities ``probs``."""
    fg = torch.tensor([math.log(p / (1 - p)) for p in probs])
    return torch.stack([torch.zeros_like(fg), fg])[None, :, None, :]


def test_cross_entropy_matches_hand_value():
    expected = -(math.log(0.8) + math.log(0.7)) / 2
    assert float(cross_entropy(logits_for(P), TARGET)) == pytest.approx(expected, rel=1e-5)


def test_cross_entropy_weights_and_ignore():
    logits = logits_for(P)
    weighted = cross_entropy(logits, TARGET, weight=torch.tensor([[[3.0, 1.0]]]))
    assert float(weighted) == pytest.approx(-(3 * math.log(0.8) + math.log(0.7)) / 4, rel=1e-5)
    ignored = cross_entropy(logits, torch.tensor([[[1, IGNORE]]]))
    assert float(ignored) == pytest.approx(-math.log(0.8), rel=1e-5)


def test_gce_matches_hand_value_and_limits():
    q = 0.5
    expected = ((1 - 0.8**q) / q + (1 - 0.7**q) / q) / 2
    assert float(gce(logits_for(P), TARGET, q=q)) == pytest.approx(expected, rel=1e-5)
    # q -> 0 approaches cross-entropy, q = 1 is the mean absolute error 1 - p_y
    assert float(gce(logits_for(P), TARGET, q=1.0)) == pytest.approx((0.2 + 0.3) / 2, rel=1e-5)
    with pytest.raises(NoisyFixError, match="q"):
        gce(logits_for(P), TARGET, q=0.0)


def test_sce_matches_hand_value():
    alpha, beta = 0.1, 1.0
    ce = -(math.log(0.8) + math.log(0.7)) / 2
    rce = (4 * 0.2 + 4 * 0.3) / 2  # -sum_c p_c log t_c with log 0 = -4
    got = sce(logits_for(P), TARGET, alpha=alpha, beta=beta)
    assert float(got) == pytest.approx(alpha * ce + beta * rce, rel=1e-5)


def test_soft_dice_matches_hand_value_and_ignore():
    # foreground: intersection 0.8, sum p = 1.1, sum t = 1
    expected = 1 - (2 * 0.8 + 1) / (1.1 + 1 + 1)
    assert float(soft_dice(logits_for(P), TARGET)) == pytest.approx(expected, rel=1e-5)
    only_first = 1 - (2 * 0.8 + 1) / (0.8 + 1 + 1)
    got = soft_dice(logits_for(P), torch.tensor([[[1, IGNORE]]]))
    assert float(got) == pytest.approx(only_first, rel=1e-5)


def test_ce_dice_is_the_sum():
    lg = logits_for(P)
    assert float(ce_dice(lg, TARGET)) == pytest.approx(
        float(cross_entropy(lg, TARGET) + soft_dice(lg, TARGET)), rel=1e-6
    )


def test_soft_targets_equal_hard_targets_when_one_hot():
    lg = logits_for(P)
    soft, _ = prepare_target(TARGET, None, 2)
    for fn in (cross_entropy, gce, sce, soft_dice):
        assert float(fn(lg, soft)) == pytest.approx(float(fn(lg, TARGET)), rel=1e-6)


def test_soft_target_cross_entropy_hand_value():
    soft = torch.tensor([[0.5, 1.0], [0.5, 0.0]])[None, :, None, :]  # pixel 0 half/half
    expected = (-(0.5 * math.log(0.2) + 0.5 * math.log(0.8)) - math.log(0.7)) / 2
    assert float(cross_entropy(logits_for(P), soft)) == pytest.approx(expected, rel=1e-5)


def test_zero_weight_pixel_has_no_gradient():
    lg = logits_for(P).requires_grad_(True)
    cross_entropy(lg, TARGET, weight=torch.tensor([[[0.0, 1.0]]])).backward()
    assert torch.all(lg.grad[..., 0] == 0)
    assert torch.any(lg.grad[..., 1] != 0)


@pytest.mark.parametrize("name", ["ce", "bce", "dice", "ce_dice", "bce_dice", "gce", "sce"])
def test_make_loss_by_name(name):
    fn = make_loss(TrainConfig(loss=name, gce_q=0.5))
    value = fn(logits_for(P), TARGET)
    assert torch.isfinite(value) and float(value) > 0


def test_make_loss_uses_parameters():
    q_loss = make_loss(TrainConfig(loss="gce", gce_q=1.0))(logits_for(P), TARGET)
    assert float(q_loss) == pytest.approx(0.25, rel=1e-5)


def test_unknown_loss_is_refused():
    cfg = TrainConfig()
    cfg.loss = "hinge"
    with pytest.raises(NoisyFixError, match="hinge"):
        make_loss(cfg)


def test_tloss_is_the_student_t_nll_per_pixel():
    loss = TLoss(nu=1.0)
    value = loss(logits_for(P), TARGET)
    sq, d, nu = 0.2**2 + 0.3**2, 2, 1.0  # residuals of the foreground probability
    nll = (
        -math.lgamma((nu + d) / 2)
        + math.lgamma(nu / 2)
        - d / 2
        + d / 2 * math.log(math.pi * nu)
        + (nu + d) / 2 * math.log1p(math.e * sq / nu)
    )
    assert float(value.detach()) == pytest.approx(nll / d, rel=1e-5)
    ignored = loss(logits_for(P), torch.tensor([[[1, IGNORE]]]))  # D counts valid pixels only
    sq, d = 0.2**2, 1
    nll1 = (
        -math.lgamma((nu + d) / 2)
        + math.lgamma(nu / 2)
        - d / 2
        + d / 2 * math.log(math.pi * nu)
        + (nu + d) / 2 * math.log1p(math.e * sq / nu)
    )
    assert float(ignored.detach()) == pytest.approx(nll1, rel=1e-5)


def test_tloss_nu_is_a_learned_parameter_carried_in_the_state():
    loss = make_loss(TrainConfig(loss="tloss", tloss_nu=2.0))
    assert isinstance(loss, TLoss) and loss.nu == pytest.approx(2.0)
    loss(logits_for(P), TARGET).backward()
    assert loss.log_nu.grad is not None and float(loss.log_nu.grad) != 0
    from napari_noisyfix.model.losses import loss_state

    state = {"w": torch.ones(1), **loss_state(loss)}
    net, saved = split_state(state)
    assert list(net) == ["w"] and float(saved["log_nu"]) == pytest.approx(math.log(2.0))
    with pytest.raises(NoisyFixError, match="nu"):
        TrainConfig(loss="tloss", tloss_nu=0)
