"""Whole-image and sliding-window inference with overlapping tiles blended by a ramp window."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .data import round_up

Forward = Callable[[torch.Tensor], tuple[torch.Tensor, ...]]


def pad_reflect(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pad (N, C, H, W) at the bottom/right to (height, width), mirroring where the image allows."""
    dh, dw = height - x.shape[-2], width - x.shape[-1]
    if dh == 0 and dw == 0:
        return x
    mode = "reflect" if dh < x.shape[-2] and dw < x.shape[-1] else "replicate"
    return F.pad(x, (0, dw, 0, dh), mode=mode)


def whole_image(forward: Forward, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Run ``forward`` on ``x`` padded to a multiple of 32 and crop every output back."""
    h, w = x.shape[-2:]
    outs = forward(pad_reflect(x, round_up(h), round_up(w)))
    return tuple(o[..., :h, :w] for o in outs)


def ramp(length: int, margin: int, device=None) -> torch.Tensor:
    """1-D blending weights: rising linearly over ``margin`` pixels at each end, 1 inside."""
    pos = torch.arange(length, device=device, dtype=torch.float32)
    edge = torch.minimum(pos + 1, length - pos)
    return (edge / (margin + 1)).clamp(max=1.0) if margin > 0 else torch.ones(length, device=device)


def tile_starts(length: int, tile: int, stride: int) -> list[int]:
    """Start offsets of tiles covering ``length`` with the given stride (the last one flush)."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, stride))
    return starts + [length - tile]


def sliding_window(
    forward: Forward, x: torch.Tensor, tile: int | None, overlap: float = 0.25, batch: int = 8
) -> tuple[torch.Tensor, ...]:
    """Outputs of ``forward`` over (N, C, H, W), tiled when the image is larger than ``tile``.

    Tiles of ``tile`` pixels overlap by ``overlap`` of their side; each output is the average of
    the tiles covering a pixel, weighted by a ramp that favours tile centres. ``forward`` maps a
    (B, C, tile, tile) tensor to a tuple of (B, K, tile, tile) tensors.
    """
    h, w = x.shape[-2:]
    if tile is None or (h <= tile and w <= tile):
        return whole_image(forward, x)
    x = pad_reflect(x, max(h, tile), max(w, tile))
    stride = max(1, int(round(tile * (1 - overlap))))
    margin = tile - stride
    win = ramp(tile, margin, x.device)
    window = win[:, None] * win[None, :]
    boxes = [
        (r, c)
        for r in tile_starts(x.shape[-2], tile, stride)
        for c in tile_starts(x.shape[-1], tile, stride)
    ]
    sums, norm = None, torch.zeros(x.shape[-2:], device=x.device)
    for i in range(0, len(boxes), batch):
        chunk = boxes[i : i + batch]
        tiles = torch.cat([x[..., r : r + tile, c : c + tile] for r, c in chunk])
        outs = forward(tiles)
        if sums is None:
            sums = [x.new_zeros(x.shape[0], o.shape[1], *x.shape[-2:]) for o in outs]
        for j, (r, c) in enumerate(chunk):
            part = slice(j * x.shape[0], (j + 1) * x.shape[0])
            for acc, o in zip(sums, outs, strict=True):
                acc[..., r : r + tile, c : c + tile] += o[part].float() * window
            norm[r : r + tile, c : c + tile] += window
    return tuple((acc / norm)[..., :h, :w] for acc in sums)
