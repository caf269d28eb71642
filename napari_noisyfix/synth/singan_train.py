"""Training one SinGAN-Seg model on one image + mask, coarse to fine (a cancellable generator).

At each scale, from the coarsest up, a new generator (started from the coarser one's weights)
learns to add detail to the upsampled output of the frozen coarser scales, against a patch
critic: the WGAN-GP loss (Gulrajani et al. 2017) makes its samples look like patches of the real
pair, and a reconstruction loss makes the fixed noise ``z_opt`` reproduce the real pair exactly,
which also sets each finer scale's noise amplitude (SinGAN, Rott Shaham et al., ICCV 2019). The
mask is one more channel, so image and mask are generated together (SinGAN-Seg, Thambawita et al.,
PLOS ONE 2022).

Runs on CUDA when present, in float32: the gradient penalty differentiates through the critic's
gradient, which float16 autocast makes fragile, and these networks are small.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from skimage.transform import resize

from ..errors import NoisyFixError
from ..model.device import resolve_device, seed_everything
from ..progress import Progress
from .singan_config import SinGANConfig
from .singan_generate import SinGANSeg
from .singan_nets import PatchCritic, ScaleGenerator, gradient_penalty


def pair_tensor(image: np.ndarray, mask: np.ndarray, size: int, where: str) -> tuple:
    """(1, C+1, H, W) float tensor in [-1, 1] of an image and its mask, the longer side shrunk to
    ``size``; with the image's value range (min, max).

    Raises
    ------
    NoisyFixError
        When the shapes differ, the image is not (H, W) or (H, W, 3), or the mask has more than
        two classes (the generator makes foreground/background masks).
    """
    image, mask = np.asarray(image), np.asarray(mask)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise NoisyFixError(f"{where}: image shape {image.shape} is neither (H, W) nor (H, W, 3)")
    if mask.shape != image.shape[:2]:
        raise NoisyFixError(f"{where}: mask shape {mask.shape} != image shape {image.shape[:2]}")
    if mask.size and int(mask.max()) > 1:
        raise NoisyFixError(f"{where}: mask holds class {int(mask.max())}; SinGAN-Seg needs 0/1")
    lo, hi = float(image.min()), float(image.max())
    arr = (image.astype(np.float32) - lo) / (hi - lo if hi > lo else 1.0) * 2 - 1
    arr = arr[..., None] if arr.ndim == 2 else arr
    arr = np.concatenate([arr, (mask > 0)[..., None].astype(np.float32) * 2 - 1], axis=-1)
    scale = min(1.0, size / max(arr.shape[:2]))
    hw = tuple(max(8, int(round(s * scale))) for s in arr.shape[:2])
    if hw != arr.shape[:2]:
        arr = resize(arr, (*hw, arr.shape[2]), order=1, anti_aliasing=True)
    return torch.from_numpy(np.moveaxis(arr, -1, 0)[None].astype(np.float32)), (lo, hi)


def scale_sizes(hw: tuple[int, int], config: SinGANConfig) -> list[tuple[int, int]]:
    """(H, W) of each scale, coarsest first: a geometric series from the shorter side
    ``min_size`` (or the image's own, if smaller) up to ``hw``."""
    if config.scales == 1:
        return [tuple(hw)]
    top = min(hw)
    factor = (min(config.min_size, top) / top) ** (1 / (config.scales - 1))
    out = []
    for k in range(config.scales - 1, -1, -1):
        f = factor**k
        out.append((max(4, int(round(hw[0] * f))), max(4, int(round(hw[1] * f)))))
    return out


def train_singan(image: np.ndarray, mask: np.ndarray, config: SinGANConfig, where: str = "image"):
    """Train a :class:`SinGANSeg` on one pair; yields Progress, returns the model.

    Closing the generator (Cancel) stops at once and leaves nothing behind.
    """
    device = resolve_device(config.device)
    seed_everything(config.seed)
    gen = torch.Generator(device=device).manual_seed(config.seed)
    x, value_range = pair_tensor(image, mask, config.size, where)
    sizes = scale_sizes(tuple(x.shape[-2:]), config)
    reals = [F.interpolate(x, size=s, mode="area").to(device) for s in sizes]
    c = x.shape[1]
    model = SinGANSeg(
        [],
        [],
        sizes,
        torch.randn(reals[0].shape, generator=gen, device=device),
        c - 1,
        value_range,
        str(np.asarray(image).dtype),
        float((np.asarray(mask) > 0).mean()),
        config.to_dict(),
    )
    start = time.perf_counter()
    g_prev = d_prev = None
    for n, real in enumerate(reals):
        g = ScaleGenerator(c, config.width, config.blocks).to(device)
        d = PatchCritic(c, config.width, config.blocks).to(device)
        if g_prev is not None:  # SinGAN: each scale starts from the coarser one's weights
            g.load_state_dict(g_prev.state_dict())
            d.load_state_dict(d_prev.state_dict())
        yield from _train_scale(model, n, g, d, real, config, gen)
        g_prev, d_prev = g, d
    model.settings["seconds"] = time.perf_counter() - start
    return model


def _upsampled(model: SinGANSeg, n: int, noises) -> torch.Tensor:
    """Output of the frozen scales below ``n`` at scale ``n``'s size (zeros at the coarsest)."""
    if n == 0:
        return torch.zeros_like(model.z_opt)
    x = model.run(noises, upto=n)
    return F.interpolate(x, size=model.sizes[n], mode="bilinear", align_corners=False)


def _train_scale(model: SinGANSeg, n: int, g, d, real, config: SinGANConfig, gen):
    """Train scale ``n``'s generator and critic, then freeze it into ``model``."""
    prev_rec = _upsampled(model, n, [model.z_opt] + [None] * (n - 1))
    amp = 1.0 if n == 0 else config.noise_amp * float(torch.sqrt(F.mse_loss(prev_rec, real)))
    z_rec = model.z_opt if n == 0 else torch.zeros_like(real)
    opt_g = torch.optim.Adam(g.parameters(), lr=config.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=config.lr, betas=(0.5, 0.999))
    milestone = [int(config.iters * 0.8)]
    sched = [torch.optim.lr_scheduler.MultiStepLR(o, milestone, 0.1) for o in (opt_g, opt_d)]
    stage = f"scale {n + 1}/{len(model.sizes)}"
    for it in range(config.iters):
        prev = _upsampled(model, n, model.random_noise(gen, upto=n))
        noise = amp * torch.randn(real.shape, generator=gen, device=real.device)
        for _ in range(config.d_steps):
            fake = g(noise, prev).detach()
            loss_d = d(fake).mean() - d(real).mean()
            loss_d = loss_d + config.gp_weight * gradient_penalty(d, real, fake, gen)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        for _ in range(config.g_steps):
            rec = F.mse_loss(g(amp * z_rec, prev_rec), real)
            loss_g = -d(g(noise, prev)).mean() + config.rec_weight * rec
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
        for s in sched:
            s.step()
        metrics = {"critic": loss_d.item(), "rec": rec.item()}
        yield Progress(stage, it + 1, config.iters, "training generator", metrics)
    model.generators.append(g.eval().requires_grad_(False))
    model.amps.append(amp)
