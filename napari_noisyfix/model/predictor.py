"""Inference: batched, tiled for large images, with flip TTA, MC dropout and decoder features."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import NoisyFixError
from .augment import dihedral, undo_dihedral
from .checkpoints import load_checkpoint
from .data import normalize_image
from .device import autocast, resolve_device
from .tiling import sliding_window

#: Flip views of test-time augmentation as (quarter turns, horizontal flip): identity,
#: horizontal flip, vertical flip (half turn + horizontal flip), both flips (half turn).
TTA_VIEWS = ((0, False), (0, True), (2, True), (2, False))
UNCERTAINTY = ("mutual_information", "variance")


@dataclass
class Prediction:
    """Model output for one image.

    ``probs`` (C, H, W) float32 mean class probabilities; ``samples`` (S, C, H, W) the individual
    TTA views / MC-dropout samples (None for a single pass); ``uncertainty`` (H, W) their mutual
    information or mean variance (None for a single pass); ``features`` (F, H, W) decoder output.
    """

    probs: np.ndarray
    samples: np.ndarray | None = None
    uncertainty: np.ndarray | None = None
    features: np.ndarray | None = None


class Predictor:
    """Apply a trained network to images of any size.

    Parameters
    ----------
    model : SegNet
        The network (moved to ``device``, put in eval mode).
    config : TrainConfig
        Its training settings; ``image_size`` is the tile size for larger images.
    device : str
        "auto", "cpu", "cuda"...
    uncertainty : {"mutual_information", "variance"}
        How samples are summarised into the uncertainty map.
    tile : int or None, optional
        Tile side for images larger than it (default: the training ``image_size``; None: never
        tile, run whole images).
    overlap : float
        Share of a tile's side that neighbouring tiles overlap.
    """

    def __init__(
        self,
        model,
        config,
        device="auto",
        uncertainty: str = "mutual_information",
        tile: int | None | str = "train",
        overlap: float = 0.25,
    ):
        if uncertainty not in UNCERTAINTY:
            raise NoisyFixError(f"uncertainty {uncertainty!r} not in {UNCERTAINTY}")
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.config = config
        self.tile = config.image_size if tile == "train" else tile
        self.overlap = overlap
        self.uncertainty = uncertainty
        self.amp = bool(config.amp and self.device.type == "cuda")
        self.in_channels = next(
            m for m in model.modules() if isinstance(m, torch.nn.Conv2d)
        ).in_channels

    @classmethod
    def from_result(cls, result, device=None, **kwargs) -> Predictor:
        """A predictor for the weights of a :class:`~napari_noisyfix.model.trainer.TrainResult`
        (on its training device unless ``device`` is given)."""
        from .networks import build_model, load_network_state

        model = build_model(result.config, result.in_channels, result.n_classes)
        load_network_state(model, result.state)
        return cls(
            model, result.config, result.config.device if device is None else device, **kwargs
        )

    @classmethod
    def load(cls, model_dir: str | os.PathLike, device="auto", **kwargs) -> Predictor:
        """A predictor for the verified checkpoint in ``model_dir``."""
        ckpt = load_checkpoint(model_dir)
        return cls(ckpt.model, ckpt.config, device, **kwargs)

    # ------------------------------------------------------------------ public
    def predict(
        self, image: np.ndarray, tta=False, mc_samples=0, return_features=False
    ) -> Prediction:
        """Probabilities (and optionally samples, uncertainty, features) for one image."""
        return self.predict_batch([image], tta, mc_samples, return_features)[0]

    def predict_batch(
        self, images, tta=False, mc_samples=0, return_features=False, batch_size: int = 8
    ) -> list[Prediction]:
        """:meth:`predict` for many images; images of equal shape run as one batch."""
        arrays = [self._prepare(img, i) for i, img in enumerate(images)]
        out: list[Prediction | None] = [None] * len(arrays)
        for group in _groups_by_shape(arrays, batch_size):
            x = torch.from_numpy(np.stack([arrays[i] for i in group]))
            for i, pred in zip(group, self._run(x, tta, mc_samples, return_features), strict=True):
                out[i] = pred
        return out

    def time_forward(self, images, repeats: int = 1) -> float:
        """Seconds per image of the bare forward pass (no TTA, no MC), after one warm-up pass."""
        self.predict_batch(images[:1])
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        start = time.perf_counter()
        for _ in range(repeats):
            self.predict_batch(images)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return (time.perf_counter() - start) / (repeats * max(1, len(images)))

    # ------------------------------------------------------------------ internals
    def _prepare(self, image, index: int) -> np.ndarray:
        arr = np.asarray(image)
        channels = 1 if arr.ndim == 2 else arr.shape[-1] if arr.ndim == 3 else -1
        if channels != self.in_channels:
            raise NoisyFixError(
                f"image {index}: shape {arr.shape} does not fit a model for {self.in_channels} channel(s)"
            )
        return normalize_image(arr)

    @torch.inference_mode()
    def _run(self, x: torch.Tensor, tta: bool, mc_samples: int, features: bool) -> list[Prediction]:
        x = x.to(self.device)
        views = TTA_VIEWS if tta else TTA_VIEWS[:1]
        passes = max(1, int(mc_samples))
        self.model.set_mc_dropout(mc_samples > 0)
        try:
            outs = [self._view(x, k, flip, features) for _ in range(passes) for k, flip in views]
        finally:
            self.model.set_mc_dropout(False)
        samples = torch.stack([o[0] for o in outs], dim=1)  # (B, S, C, H, W)
        feats = torch.stack([o[1] for o in outs]).mean(0) if features else None
        return [
            self._summarise(samples[b], None if feats is None else feats[b])
            for b in range(x.shape[0])
        ]

    def _view(self, x, k: int, flip: bool, features: bool):
        def forward(t):
            with autocast(self.device, self.amp):
                logits, feats = self.model(t, return_features=True)
            probs = F.softmax(logits.float(), dim=1)
            if not features:
                return (probs,)
            return probs, F.interpolate(feats.float(), size=t.shape[-2:], mode="bilinear")

        outs = sliding_window(forward, dihedral(x, k, flip), self.tile, self.overlap)
        outs = [undo_dihedral(o, k, flip) for o in outs]
        return outs[0], (outs[1] if features else None)

    def _summarise(self, samples: torch.Tensor, feats) -> Prediction:
        probs = samples.mean(0)
        unc = None
        if samples.shape[0] > 1:
            unc = _uncertainty(samples, probs, self.uncertainty).cpu().numpy()
        return Prediction(
            probs=probs.cpu().numpy().astype(np.float32),
            samples=samples.cpu().numpy().astype(np.float32) if samples.shape[0] > 1 else None,
            uncertainty=unc,
            features=None if feats is None else feats.cpu().numpy().astype(np.float32),
        )


def _uncertainty(samples: torch.Tensor, mean: torch.Tensor, kind: str) -> torch.Tensor:
    """Mutual information ``H(mean) - mean_s H(s)`` or mean over classes of the sample variance."""
    if kind == "variance":
        return samples.var(dim=0, unbiased=False).mean(dim=0)
    ent = lambda p: -(p * torch.log(p.clamp_min(1e-8))).sum(dim=-3)  # noqa: E731
    return (ent(mean) - ent(samples).mean(dim=0)).clamp_min(0)


def _groups_by_shape(arrays: list[np.ndarray], size: int) -> list[list[int]]:
    by_shape: dict[tuple, list[int]] = {}
    for i, a in enumerate(arrays):
        by_shape.setdefault(a.shape, []).append(i)
    return [idx[j : j + size] for idx in by_shape.values() for j in range(0, len(idx), size)]
