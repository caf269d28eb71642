"""Mask R-CNN (torchvision) as the network of an instance project, trained from scratch.

:class:`MaskRCNNNet` wraps torchvision's :class:`~torchvision.models.detection.MaskRCNN` on a
ResNet-FPN backbone built with ``weights=None`` (nothing is downloaded) and trainable batch norm
(frozen batch norm only makes sense for pretrained weights). Its training step
(:mod:`.maskrcnn_targets`) feeds torchvision's own losses: RPN objectness and boxes, box
classification and regression, and the mask branch's per-class sigmoid BCE on RoIAlign crops.

For everything else it behaves as :class:`~.networks.SegNet` does: ``forward`` returns
two-class logits (N, 2, H, W) and, with ``return_features``, the finest FPN level, so the
predictor (tiling, flip TTA), validation, out-of-fold folds, checkpoints and ``noisyfix score``
take it unchanged. The foreground probability of a pixel is built from the detections
(:func:`foreground_probability`); a ``Dropout2d`` on the FPN outputs gives MC dropout.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torchvision
from torch import nn
from torchvision.models.detection import MaskRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.detection.transform import GeneralizedRCNNTransform

from ..errors import NoisyFixError
from .config import PLAIN, TrainConfig

NAME = "maskrcnn"
#: Backbones Mask R-CNN can use here: torchvision ResNets and their FPN input channels.
BACKBONES: dict[str, tuple[int, ...]] = {
    "resnet18": (64, 128, 256, 512),
    "resnet34": (64, 128, 256, 512),
}
#: FPN width and head sizes, a quarter of torchvision's defaults (256 channels, 1024-wide box
#: head): objects here are nuclei and cells of tens of pixels, trained from scratch on CPU too.
FPN_CHANNELS, BOX_HEAD = 64, 256
#: Anchor sides per FPN level (strides 4..64): objects of 8 to 128 pixels across, the range of
#: nuclei and cells at the crop sizes used here (torchvision's default starts at 32).
ANCHORS = ((8,), (16,), (32,), (64,), (128,))
#: Most detections kept per image (torchvision's default 100 is too few for crowded nuclei).
DETECTIONS = 300
#: RoIs per training crop for the box and mask heads, a quarter of torchvision's 512 (a quarter
#: of them positive: room for 32 objects, more than a 128-px crop of nuclei holds). RoIAlign
#: forward and backward were three quarters of a CPU step at 512.
ROIS_PER_CROP = 128


def check_backbone(encoder: str) -> None:
    """Raise :class:`NoisyFixError` unless Mask R-CNN can be built on ``encoder``."""
    if encoder not in BACKBONES:
        raise NoisyFixError(
            f"Mask R-CNN has no {encoder!r} backbone; choose --encoder from {sorted(BACKBONES)}"
        )


def check_project(project, config: TrainConfig) -> None:
    """Raise :class:`NoisyFixError` when ``config`` asks for Mask R-CNN and ``project`` cannot
    train one: a semantic project (no object ids to learn), or synthetic pairs (none either)."""
    if config.arch != NAME:
        return
    if not project.is_instance:
        raise NoisyFixError(
            f"{project.root}: --arch maskrcnn needs an instance project (one id per object, "
            "made with `noisyfix import --labels instance`); this project's masks are classes"
        )
    if config.synthetic != "off":
        raise NoisyFixError(
            f"{project.root}: --arch maskrcnn cannot train on synthetic pairs (they carry no "
            "object ids); use --synthetic off"
        )


def maskrcnn_config(project, config: TrainConfig) -> TrainConfig:
    """The settings a Mask R-CNN run of ``project`` uses: ``config`` with the plain recipe,
    after :func:`check_project`.

    The noise-robust recipe's parts act on the U-Net's per-pixel losses and weights, which
    torchvision's losses do not take (:mod:`.maskrcnn_targets`), so none of them runs, and the
    stored settings say so.
    """
    check_project(project, config)
    return TrainConfig.from_dict({**config.to_dict(), **PLAIN, "strategy": "plain"})


class _SameSize(GeneralizedRCNNTransform):
    """Batching and padding only: images arrive normalised (:func:`~.data.normalize_image`) and
    keep their size, so masks and probability maps line up with the input pixel for pixel."""

    def normalize(self, image: torch.Tensor) -> torch.Tensor:
        return image

    def resize(self, image, target=None):
        return image, target


class _FPNWithDropout(nn.Module):
    """A ResNet-FPN whose outputs pass a ``Dropout2d`` (kept sampling for MC dropout)."""

    def __init__(self, encoder: str, in_channels: int, dropout: float):
        super().__init__()
        body = getattr(torchvision.models, encoder)(weights=None, norm_layer=nn.BatchNorm2d)
        body.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        layers = {f"layer{i + 1}": str(i) for i in range(4)}
        self.fpn = BackboneWithFPN(body, layers, list(BACKBONES[encoder]), FPN_CHANNELS)
        self.dropout = nn.Dropout2d(p=dropout)
        self.out_channels = FPN_CHANNELS

    def forward(self, x: torch.Tensor) -> OrderedDict:
        return OrderedDict((k, self.dropout(v)) for k, v in self.fpn(x).items())


class MaskRCNNNet(nn.Module):
    """torchvision Mask R-CNN for one foreground class, with the interface of a ``SegNet``.

    Parameters
    ----------
    encoder : str
        One of :data:`BACKBONES`.
    in_channels : int
        Image channels.
    dropout : float
        Drop probability of the FPN outputs' ``Dropout2d`` layer.
    """

    n_classes = 2

    def __init__(self, encoder: str, in_channels: int, dropout: float):
        super().__init__()
        check_backbone(encoder)
        backbone = _FPNWithDropout(encoder, in_channels, dropout)
        anchors = AnchorGenerator(ANCHORS, ((0.5, 1.0, 2.0),) * len(ANCHORS))
        self.net = MaskRCNN(
            backbone,
            rpn_anchor_generator=anchors,
            box_head=TwoMLPHead(FPN_CHANNELS * 7 * 7, BOX_HEAD),
            box_predictor=FastRCNNPredictor(BOX_HEAD, 2),
            box_detections_per_img=DETECTIONS,
            box_batch_size_per_image=ROIS_PER_CROP,
            mask_head=MaskRCNNHeads(FPN_CHANNELS, (FPN_CHANNELS,) * 4, 1),
            mask_predictor=MaskRCNNPredictor(FPN_CHANNELS, FPN_CHANNELS, 2),
        )
        zeros, ones = [0.0] * in_channels, [1.0] * in_channels
        self.net.transform = _SameSize(1, 1, zeros, ones)

    def losses(self, images: torch.Tensor, targets: list[dict]) -> dict[str, torch.Tensor]:
        """torchvision's training losses of a batch (the model must be in training mode)."""
        return self.net(list(images), targets)

    def detect(self, images: torch.Tensor) -> list[dict]:
        """Detections per image (boxes, scores, masks (K, 1, H, W) in [0, 1]), in eval mode."""
        was = self.net.training
        self.net.eval()
        try:
            return self.net(list(images))
        finally:
            self.net.train(was)

    def forward(self, x: torch.Tensor, return_features: bool = False):
        """Two-class logits (N, 2, H, W) from the detections; with ``return_features`` also the
        finest FPN level (N, F, H/4, W/4)."""
        fg = torch.stack(
            [foreground_probability(d, x.shape[-2:]) for d in self.detect(x)]
        ).unsqueeze(1)
        logits = torch.log(torch.cat([1.0 - fg, fg], dim=1).clamp_min(1e-6))
        if not return_features:
            return logits
        with torch.no_grad():
            feats = self.net.backbone(x)["0"]
        return logits, feats

    def set_mc_dropout(self, active: bool) -> None:
        """Keep the FPN dropout sampling (``active``) while the rest stays in eval mode."""
        self.net.backbone.dropout.train(active)


def foreground_probability(detection: dict, hw) -> torch.Tensor:
    """Per-pixel foreground probability (H, W) from one image's detections.

    With ``q_k = score_k * mask_k`` for every detection, the pixel's foreground is
    ``q(1) * (1 - q(2))``, its two largest: the chance that the best object covers it and the
    next one does not. Inside one object that is ``q(1)``; where two detected objects meet, both
    are near one half and the product drops, so the foreground map parts touching objects as
    the instance finder needs (:mod:`~napari_noisyfix.quality.instances`). A detection whose
    mask lies for the most part under a better one (a duplicate) is left out first.
    """
    masks = detection["masks"][:, 0]
    if masks.shape[0] == 0:
        return masks.new_zeros(tuple(hw))
    keep = _distinct(masks > 0.5, detection["scores"])
    q = detection["scores"][keep, None, None] * masks[keep]
    if q.shape[0] == 1:
        return q[0]
    top = torch.topk(q, 2, dim=0).values
    return top[0] * (1.0 - top[1])


def _distinct(binary: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """Indices of detections, best first, whose mask is for at least half its area outside the
    better ones' (mask non-maximum suppression)."""
    taken = torch.zeros_like(binary[0])
    keep = []
    for k in torch.argsort(scores, descending=True).tolist():
        area = int(binary[k].sum())
        if area and int((binary[k] & ~taken).sum()) * 2 >= area:
            keep.append(k)
            taken |= binary[k]
    return torch.tensor(keep or [int(scores.argmax())], dtype=torch.long, device=scores.device)
