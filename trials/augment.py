"""Random flips and crops done on the batch tensor itself, on its device, with no loader."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def flip_and_crop(x: torch.Tensor, pad: int | None = None) -> torch.Tensor:
    """Flip each image left-right with p=0.5 and crop it at a random offset after zero padding.

    Runs after normalisation, so the zero padding is the mean colour.
    """
    n, c, h, w = x.shape
    pad = max(1, h // 8) if pad is None else pad
    dev = x.device
    flip = torch.rand(n, device=dev) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    padded = F.pad(x, (pad, pad, pad, pad))
    rows = torch.randint(0, 2 * pad + 1, (n, 1), device=dev) + torch.arange(h, device=dev)
    cols = torch.randint(0, 2 * pad + 1, (n, 1), device=dev) + torch.arange(w, device=dev)
    batch = torch.arange(n, device=dev)[:, None, None, None]
    chans = torch.arange(c, device=dev)[None, :, None, None]
    return padded[batch, chans, rows[:, None, :, None], cols[:, None, None, :]]
