"""SinGAN-Seg networks: one small fully convolutional generator and one patch critic per scale.

Each scale's generator refines the upsampled output of the coarser scale (a residual: ``prev +
tanh(body(noise + prev))``); the critic scores overlapping patches, so one image is many training
examples. The channels are the image's (1 grey or 3 RGB) plus one for the mask, so every sample is
an image with its mask (Thambawita et al., PLOS ONE 2022; SinGAN: Rott Shaham et al., ICCV 2019).
"""

from __future__ import annotations

import torch
from torch import nn


def _block(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 convolution (zero 'same' padding) and LeakyReLU(0.2).

    No batch norm (SinGAN has it): with a batch of one image its training statistics differ from
    the running ones used at sampling time, and the critic of WGAN-GP must not normalise over the
    batch anyway; without it a trained scale behaves the same in training and in generation.
    """
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.LeakyReLU(0.2))


def _body(channels: int, width: int, blocks: int) -> nn.Sequential:
    return nn.Sequential(
        _block(channels, width), *[_block(width, width) for _ in range(blocks - 2)]
    )


class ScaleGenerator(nn.Module):
    """The generator of one scale: ``prev + tanh(f(noise + prev))`` in [-1, 1] units.

    Parameters
    ----------
    channels : int
        Image channels + 1 (the mask).
    width : int
        Feature channels of the hidden blocks.
    blocks : int
        Convolutional blocks (the receptive field grows by 2 pixels per block).
    """

    def __init__(self, channels: int, width: int = 32, blocks: int = 5):
        super().__init__()
        self.body = _body(channels, width, blocks)
        self.tail = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, noise: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        return prev + torch.tanh(self.tail(self.body(noise + prev)))


class PatchCritic(nn.Module):
    """The WGAN critic of one scale: a map of patch scores."""

    def __init__(self, channels: int, width: int = 32, blocks: int = 5):
        super().__init__()
        self.body = _body(channels, width, blocks)
        self.tail = nn.Conv2d(width, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.body(x))


def gradient_penalty(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    """WGAN-GP term ``E[(||grad critic(x_hat)|| - 1)^2]`` on random mixes of real and fake."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device, generator=generator)
    mix = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mix).sum(), mix, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
