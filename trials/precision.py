"""Mixed precision for a trial: autocast for the forward pass, loss scaling for fp16."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from trials.hparams import amp_mode

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class Precision:
    """Runs forward passes under autocast and steps through a GradScaler (a no-op unless fp16).

    The same code serves CUDA and the CPU (torch.autocast("cpu") supports bf16 and fp16); on the
    CPU it is correct but rarely faster, since few CPUs have fast half-precision kernels.
    """

    def __init__(self, device_type: str, mode: str) -> None:
        self.device_type, self.mode = device_type, amp_mode(mode)
        self.scaler = torch.amp.GradScaler(device_type, enabled=self.mode == "fp16")

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        if self.mode == "off":
            yield
            return
        with torch.autocast(self.device_type, dtype=_DTYPES[self.mode]):
            yield

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        """Backward and optimizer step; fp16 scales the loss and skips steps with inf gradients."""
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()
