"""A trained SinGAN-Seg model: sampling new image + mask pairs, and its safetensors file.

The file holds every scale's generator weights and the fixed reconstruction noise as tensors,
and the rest (scale sizes, noise amplitudes, the image's value range, the training settings) as
JSON in the safetensors metadata: loading it runs no pickled code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import SafetensorError, safe_open
from safetensors.torch import save
from skimage.transform import resize

from .._atomic import atomic_write_bytes
from ..errors import NoisyFixError
from .singan_nets import ScaleGenerator

#: Bumped when the file layout or the networks change; stored in every file.
FORMAT = 1
#: Draws per requested pair before giving up on a non-empty mask.
TRIES = 20


@dataclass
class SinGANSeg:
    """The generators of one image, coarse to fine, and what sampling needs.

    Attributes
    ----------
    generators : list of ScaleGenerator
        One per scale, coarsest first (in eval mode, on ``device``).
    amps : list of float
        Noise amplitude of each scale.
    sizes : list of (int, int)
        (H, W) of each scale; the last is the training size.
    z_opt : Tensor
        The fixed coarsest noise that reconstructs the training pair.
    image_channels : int
        1 (grey) or 3 (RGB); the tensors have one more channel, the mask.
    value_range : (float, float)
        The source image's minimum and maximum (generated images are mapped back to it).
    dtype : str
        The source image's dtype.
    source_fg : float
        The source mask's foreground share (0: empty masks are allowed).
    settings : dict
        The training settings (:class:`~.singan_train.SinGANConfig` as a dict) and the seconds taken.
    """

    generators: list
    amps: list
    sizes: list
    z_opt: torch.Tensor
    image_channels: int
    value_range: tuple
    dtype: str
    source_fg: float
    settings: dict

    @property
    def device(self) -> torch.device:
        return self.z_opt.device

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def run(self, noises: list[torch.Tensor | None], upto: int | None = None) -> torch.Tensor:
        """Pass through scales ``0..upto-1`` (default all) with the given noise per scale
        (None: none added, as in the reconstruction of the finer scales)."""
        upto = len(self.generators) if upto is None else upto
        x = torch.zeros_like(self.z_opt)
        for n in range(upto):
            if n:
                x = F.interpolate(x, size=self.sizes[n], mode="bilinear", align_corners=False)
            z = noises[n] if noises[n] is not None else torch.zeros_like(x)
            x = self.generators[n](z * self.amps[n], x)
        return x

    def random_noise(self, gen: torch.Generator, upto: int | None = None) -> list[torch.Tensor]:
        """Fresh standard normal noise for scales ``0..upto-1``."""
        upto = len(self.generators) if upto is None else upto
        c = self.image_channels + 1
        return [
            torch.randn((1, c, *self.sizes[n]), generator=gen, device=self.device)
            for n in range(upto)
        ]

    def reconstruction(self, upto: int | None = None) -> torch.Tensor:
        """The training pair as the model reproduces it from ``z_opt``."""
        return self.run([self.z_opt] + [None] * (len(self.generators) - 1), upto)

    def sample(
        self, n: int, seed: int = 0, shape: tuple[int, int] | None = None, where: str = "generator"
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """``n`` new (image, mask) pairs from random noise at every scale.

        Images come back in the source's value range and dtype, (H, W) or (H, W, 3); masks as
        uint8 0/1. ``shape`` resizes both (image bilinear, mask by thresholding the resized mask
        channel, so its outline stays smooth). A draw whose mask is empty is drawn again when the
        source mask was not empty.

        Raises
        ------
        NoisyFixError
            When :data:`TRIES` draws per pair give no non-empty mask.
        """
        gen = torch.Generator(device=self.device).manual_seed(int(seed))
        pairs = []
        for _ in range(int(n) * TRIES):
            pair = self.to_pair(self.run(self.random_noise(gen)), shape)
            if self.source_fg == 0 or pair[1].any():
                pairs.append(pair)
            if len(pairs) == n:
                return pairs
        raise NoisyFixError(
            f"{where}: the generator gave only {len(pairs)} of {n} pairs with a non-empty mask in "
            f"{n * TRIES} draws; train it longer"
        )

    def to_pair(self, x: torch.Tensor, shape=None) -> tuple[np.ndarray, np.ndarray]:
        """(image, mask) arrays of a (1, C+1, H, W) tensor in [-1, 1] units."""
        arr = x[0].detach().float().cpu().numpy().clip(-1, 1)
        arr = np.moveaxis(arr, 0, -1)
        if shape is not None and tuple(shape) != arr.shape[:2]:
            arr = resize(arr, (*shape, arr.shape[2]), order=1, anti_aliasing=True)
        lo, hi = self.value_range
        image = (arr[..., :-1] + 1) / 2 * (hi - lo) + lo
        image = image[..., 0] if self.image_channels == 1 else image
        dtype = np.dtype(self.dtype)
        if dtype.kind in "iu":
            image = np.round(image)
        return image.astype(dtype), (arr[..., -1] > 0).astype(np.uint8)

    # ------------------------------------------------------------------ file
    def save(self, path: str | Path) -> Path:
        """Write the model as one safetensors file (atomically)."""
        tensors = {"z_opt": self.z_opt.detach().cpu().contiguous()}
        for n, g in enumerate(self.generators):
            for key, value in g.state_dict().items():
                tensors[f"g{n}.{key}"] = value.detach().cpu().contiguous()
        meta = {
            "format": FORMAT,
            "amps": [float(a) for a in self.amps],
            "sizes": [list(s) for s in self.sizes],
            "image_channels": self.image_channels,
            "value_range": [float(v) for v in self.value_range],
            "dtype": self.dtype,
            "source_fg": self.source_fg,
            "settings": self.settings,
        }
        return atomic_write_bytes(path, save(tensors, metadata={"singan_seg": json.dumps(meta)}))

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> SinGANSeg:
        """Read a file written by :meth:`save`; a foreign or damaged file gets one clear error."""
        path = Path(path)
        try:
            with safe_open(str(path), framework="pt", device=str(device)) as f:
                meta = json.loads((f.metadata() or {})["singan_seg"])
                tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not iterable)
        except (OSError, KeyError, ValueError, RuntimeError, SafetensorError) as exc:
            raise NoisyFixError(f"{path}: not a SinGAN-Seg generator file ({exc})") from None
        if meta.get("format") != FORMAT:
            raise NoisyFixError(f"{path}: generator format {meta.get('format')}, expected {FORMAT}")
        width, blocks = meta["settings"]["width"], meta["settings"]["blocks"]
        gens = []
        for n in range(len(meta["sizes"])):
            g = ScaleGenerator(meta["image_channels"] + 1, width, blocks).to(device)
            prefix = f"g{n}."
            g.load_state_dict(
                {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
            )
            gens.append(g.eval().requires_grad_(False))
        return cls(
            gens,
            meta["amps"],
            [tuple(s) for s in meta["sizes"]],
            tensors["z_opt"],
            meta["image_channels"],
            tuple(meta["value_range"]),
            meta["dtype"],
            meta["source_fg"],
            meta["settings"],
        )
