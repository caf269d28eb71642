"""Every registered architecture x encoder builds and runs; decoder dropout; local encoder weights."""

import pytest
import torch
from safetensors.torch import save_file

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.model.config import ENCODERS, TrainConfig
from napari_noisyfix.model.networks import ARCHITECTURES, build_model


@pytest.mark.parametrize("arch", sorted(ARCHITECTURES))
@pytest.mark.parametrize("encoder", ENCODERS)
def test_every_model_builds_and_runs(arch, encoder):
    model = build_model(TrainConfig(arch=arch, encoder=encoder), in_channels=3, n_classes=4).eval()
    with torch.no_grad():
        logits, feats = model(torch.randn(1, 3, 32, 32), return_features=True)
    assert logits.shape == (1, 4, 32, 32)
    assert feats.shape[0] == 1 and feats.shape[-2:] == (32, 32)


def test_mc_dropout_samples_only_when_switched_on():
    model = build_model(TrainConfig(dropout=0.5), 1, 2).eval()
    x = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), model(x))
        model.set_mc_dropout(True)
        assert not torch.equal(model(x), model(x))
        assert not model.net.encoder.training  # batch norm stays in eval mode
        model.set_mc_dropout(False)
        assert torch.equal(model(x), model(x))


def test_local_encoder_weights_are_loaded(tmp_path):
    source = build_model(TrainConfig(encoder="resnet18"), 1, 2)
    path = tmp_path / "enc.safetensors"
    save_file({k: v.contiguous() for k, v in source.net.encoder.state_dict().items()}, str(path))
    torch.manual_seed(1)
    model = build_model(TrainConfig(encoder="resnet18", encoder_weights=str(path)), 1, 2)
    for key, value in source.net.encoder.state_dict().items():
        assert torch.equal(model.net.encoder.state_dict()[key], value)


def test_rgb_encoder_weights_fold_into_gray_first_conv(tmp_path):
    rgb = build_model(TrainConfig(encoder="resnet18"), 3, 2)
    path = tmp_path / "rgb.pt"
    torch.save({"encoder." + k: v for k, v in rgb.net.encoder.state_dict().items()}, path)
    gray = build_model(TrainConfig(encoder="resnet18", encoder_weights=str(path)), 1, 2)
    expected = rgb.net.encoder.conv1.weight.sum(dim=1, keepdim=True)
    assert torch.allclose(gray.net.encoder.conv1.weight, expected)


def test_foreign_or_missing_encoder_weights_are_refused(tmp_path):
    other = build_model(TrainConfig(encoder="mobilenet_v2"), 1, 2)
    path = tmp_path / "mobilenet.safetensors"
    save_file({k: v.contiguous() for k, v in other.net.encoder.state_dict().items()}, str(path))
    with pytest.raises(NoisyFixError, match="mobilenet.safetensors"):
        build_model(TrainConfig(encoder="resnet18", encoder_weights=str(path)), 1, 2)
    with pytest.raises(NoisyFixError, match="not found"):
        build_model(TrainConfig(encoder_weights=str(tmp_path / "none.pt")), 1, 2)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(NoisyFixError, match="garbage.pt"):
        build_model(TrainConfig(encoder_weights=str(garbage)), 1, 2)


def test_unknown_architecture_or_encoder_is_refused():
    with pytest.raises(NoisyFixError, match="architecture"):
        TrainConfig(arch="segformer")
    with pytest.raises(NoisyFixError, match="encoder"):
        TrainConfig(encoder="vgg11")
