"""Network factory: a small registry of segmentation-models-pytorch architectures and encoders.

Every network is wrapped in :class:`SegNet`, which adds a ``Dropout2d`` layer between the decoder
and the segmentation head. That layer can stay active at inference (:meth:`SegNet.set_mc_dropout`)
for Monte-Carlo dropout, and the decoder output it sees is what :class:`~.predictor.Predictor`
returns as per-pixel features.
"""

from __future__ import annotations

from pathlib import Path

import segmentation_models_pytorch as smp
import torch
from torch import nn

from ..errors import NoisyFixError
from .config import check_choice

#: The smp architectures; ``maskrcnn`` (:mod:`.maskrcnn`), the other name of
#: :data:`~.config.ARCH_NAMES`, is torchvision's and builds a :class:`~.maskrcnn.MaskRCNNNet`.
ARCHITECTURES: dict[str, type] = {"unet": smp.Unet, "unetplusplus": smp.UnetPlusPlus}
#: smp arguments of the encoders whose registered name is not smp's own: the light encoder is
#: timm's half-width MobileNetV3-small, with a decoder narrowed to match its features.
SMP_ENCODERS: dict[str, dict] = {
    "mobilenetv3_small": {
        "encoder_name": "tu-mobilenetv3_small_050",
        "decoder_channels": (64, 32, 16, 16, 8),
    },
}


class SegNet(nn.Module):
    """An smp encoder-decoder with decoder dropout; ``forward`` returns logits (N, C, H, W).

    Parameters
    ----------
    arch : str
        Key of :data:`ARCHITECTURES`.
    encoder : str
        One of :data:`ENCODERS`.
    in_channels, n_classes : int
        Image channels and number of classes (background included).
    dropout : float
        Drop probability of the decoder ``Dropout2d`` layer.
    """

    def __init__(self, arch: str, encoder: str, in_channels: int, n_classes: int, dropout: float):
        super().__init__()
        smp_args = SMP_ENCODERS.get(encoder, {"encoder_name": encoder})
        self.net = ARCHITECTURES[arch](
            **smp_args, encoder_weights=None, in_channels=in_channels, classes=n_classes
        )
        self.dropout = nn.Dropout2d(p=dropout)
        self.n_classes = n_classes

    def forward(self, x: torch.Tensor, return_features: bool = False):
        """Logits, and with ``return_features`` also the decoder output (N, F, H, W)."""
        features = self.net.decoder(self.net.encoder(x))
        logits = self.net.segmentation_head(self.dropout(features))
        return (logits, features) if return_features else logits

    def set_mc_dropout(self, active: bool) -> None:
        """Keep the decoder dropout sampling (``active``) while the rest stays in eval mode."""
        self.dropout.train(active)


def build_model(config, in_channels: int, n_classes: int) -> SegNet:
    """Build the network described by a :class:`~.config.TrainConfig`.

    ``config.encoder_weights`` may name a local file of encoder weights (safetensors or a torch
    state dict, read with ``weights_only=True``); nothing is downloaded.
    """
    check_choice(config.arch, config.encoder)
    if config.arch == "maskrcnn":
        return _maskrcnn(config, in_channels, n_classes)
    model = SegNet(config.arch, config.encoder, in_channels, n_classes, config.dropout)
    if config.encoder_weights:
        load_encoder_weights(model, config.encoder_weights)
    return model


def _maskrcnn(config, in_channels: int, n_classes: int):
    from .maskrcnn import MaskRCNNNet

    if n_classes != MaskRCNNNet.n_classes:
        raise NoisyFixError(f"Mask R-CNN learns one object class; got {n_classes} classes")
    if config.encoder_weights:
        raise NoisyFixError(
            "Mask R-CNN trains from scratch here; --encoder-weights is for the U-Net"
        )
    return MaskRCNNNet(config.encoder, in_channels, config.dropout)


def load_network_state(model: SegNet, state: dict) -> dict:
    """Load a saved state into ``model`` (strict); returns the loss parameters it also carried
    (keys under :data:`~.losses.LOSS_STATE_PREFIX`, such as the T-Loss's learned ``log_nu``).

    Raises ``RuntimeError`` (from torch) when the weights do not fit the network.
    """
    from .losses import split_state

    weights, loss = split_state(state)
    model.load_state_dict(weights, strict=True)
    return loss


def load_encoder_weights(model: SegNet, path: str | Path) -> None:
    """Load encoder weights from a local file into ``model`` (keys with or without ``encoder.``).

    A first convolution trained on RGB is summed over its input channels for gray images.
    """
    path = Path(path)
    state = _read_state(path)
    state = {k.removeprefix("encoder."): v for k, v in state.items()}
    target = model.net.encoder.state_dict()
    for key, value in state.items():
        if key in target and value.ndim == 4 and value.shape[1] != target[key].shape[1]:
            if target[key].shape[1] != 1:
                raise NoisyFixError(f"{path}: {key} has {value.shape[1]} input channels")
            state[key] = value.sum(dim=1, keepdim=True)
    try:
        model.net.encoder.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise NoisyFixError(f"{path}: not weights of a {type(model.net.encoder).__name__}") from exc


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise NoisyFixError(f"{path}: encoder weights file not found")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any parse failure means an unusable file
        raise NoisyFixError(f"{path}: unreadable weights file ({exc})") from exc
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise NoisyFixError(f"{path}: does not hold a state dict of tensors")
    return state
