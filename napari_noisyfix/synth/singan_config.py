"""The settings of one SinGAN-Seg generator's training, free of torch: the widget and the
command line read and check them without loading the networks."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import NoisyFixError


@dataclass
class SinGANConfig:
    """Settings of one generator's training.

    ``size``: longer side of the finest scale (the pair is shrunk to it); ``scales`` from
    ``min_size`` (shorter side of the coarsest) up; ``iters`` per scale, each with ``d_steps``
    critic and ``g_steps`` generator updates; ``width`` / ``blocks`` of every network; Adam
    ``lr`` (divided by 10 for the last fifth of each scale); ``gp_weight`` (WGAN-GP),
    ``rec_weight`` (reconstruction, SinGAN's alpha), ``noise_amp`` (finer scales' noise, times the
    coarser reconstruction's RMS error); ``device``, ``seed``.
    """

    size: int = 96
    min_size: int = 24
    scales: int = 4
    iters: int = 300
    d_steps: int = 2
    g_steps: int = 1
    width: int = 32
    blocks: int = 5
    lr: float = 5e-4
    gp_weight: float = 0.1
    rec_weight: float = 10.0
    noise_amp: float = 0.1
    device: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.scales < 1 or self.iters < 1 or self.d_steps < 1 or self.g_steps < 1:
            raise NoisyFixError("SinGAN scales, iterations and steps must be at least 1")
        if not 8 <= self.min_size <= self.size:
            raise NoisyFixError(
                f"SinGAN sizes: need 8 <= min size {self.min_size} <= size {self.size}"
            )
        if self.blocks < 3 or self.width < 4:
            raise NoisyFixError("SinGAN networks need at least 3 blocks of 4 channels")

    def to_dict(self) -> dict:
        return asdict(self)
