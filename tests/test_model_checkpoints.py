"""Checkpoints round-trip; corrupt, tampered, foreign or half-written ones are refused."""

import json

import pytest
import torch
from safetensors.torch import save_file

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.model.checkpoints import _digest, load_checkpoint, save_checkpoint
from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.model.networks import build_model

CONFIG = TrainConfig(encoder="mobilenet_v2", image_size=64, epochs=2)
HISTORY = [{"epoch": 0, "train_loss": 0.5, "val_dice": 0.7}]


@pytest.fixture(scope="module")
def state():
    torch.manual_seed(0)
    return build_model(CONFIG, 1, 3).state_dict()


@pytest.fixture
def saved(tmp_path, state):
    return save_checkpoint(tmp_path / "v0001", state, CONFIG, 1, 3, HISTORY, {"kind": "train"})


def test_round_trip(saved, state):
    assert sorted(p.name for p in saved.iterdir()) == [
        "config.json",
        "history.json",
        "model.safetensors",
    ]
    ckpt = load_checkpoint(saved)
    assert ckpt.config == CONFIG and (ckpt.in_channels, ckpt.n_classes) == (1, 3)
    assert ckpt.history == HISTORY and ckpt.meta == {"kind": "train"}
    assert all(torch.equal(ckpt.state[k], v) for k, v in state.items())
    assert not ckpt.model.training
    x = torch.randn(1, 1, 64, 64)
    ref = build_model(CONFIG, 1, 3).eval()
    ref.load_state_dict(state)
    with torch.no_grad():
        assert torch.allclose(ckpt.model(x), ref(x))


def test_flipped_bytes_are_refused(saved):
    path = saved / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(NoisyFixError, match="model.safetensors.*checksum"):
        load_checkpoint(saved)


def test_truncated_file_with_matching_digest_is_refused(saved):
    path = saved / "model.safetensors"
    path.write_bytes(path.read_bytes()[:100])
    _rewrite_digest(saved)
    with pytest.raises(NoisyFixError, match="model.safetensors"):
        load_checkpoint(saved)


def test_weights_of_another_architecture_are_refused(saved):
    other = build_model(TrainConfig(arch="unetplusplus", encoder="mobilenet_v2"), 1, 3)
    save_file(
        {k: v.contiguous() for k, v in other.state_dict().items()}, str(saved / "model.safetensors")
    )
    _rewrite_digest(saved)
    with pytest.raises(NoisyFixError, match="do not fit a unet/mobilenet_v2"):
        load_checkpoint(saved)


def test_foreign_or_broken_description_is_refused(saved):
    (saved / "config.json").write_text("{not json")
    with pytest.raises(NoisyFixError, match="config.json"):
        load_checkpoint(saved)
    (saved / "config.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(NoisyFixError, match="not a noisyfix checkpoint"):
        load_checkpoint(saved)


def test_missing_folder_or_weights(tmp_path, saved):
    with pytest.raises(NoisyFixError, match="not found"):
        load_checkpoint(tmp_path / "nothing")
    (saved / "model.safetensors").unlink()
    with pytest.raises(NoisyFixError, match="weights file not found"):
        load_checkpoint(saved)


def test_existing_folder_is_not_overwritten(saved, state):
    with pytest.raises(NoisyFixError, match="exists"):
        save_checkpoint(saved, state, CONFIG, 1, 3)


def test_failed_save_leaves_nothing(tmp_path, state):
    bad = dict(state)
    bad["oops"] = "not a tensor"
    with pytest.raises(AttributeError):
        save_checkpoint(tmp_path / "v0002", bad, CONFIG, 1, 3)
    assert list(tmp_path.iterdir()) == []


def _rewrite_digest(folder):
    info = json.loads((folder / "config.json").read_text())
    info["sha256"] = _digest(folder / "model.safetensors")
    (folder / "config.json").write_text(json.dumps(info))
