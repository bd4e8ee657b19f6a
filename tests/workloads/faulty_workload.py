"""A test workload whose `case` hyperparameter makes a trial raise or produce a NaN loss."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from trials.registry import WORKLOADS, Workload


class _NaNHead(nn.Module):
    """Wraps a model so its outputs (and so the loss) are NaN: a real diverged trial."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x) * float("nan")


def _build(params: dict[str, Any]) -> nn.Module:
    model = WORKLOADS["mnist_mlp"].build_model(params)
    if params["case"] == "raise":
        raise RuntimeError("injected failure for case=raise")
    if params["case"] == "nan":
        return _NaNHead(model)
    return model


base = WORKLOADS["mnist_mlp"]
WORKLOAD = Workload("faulty", base.datasets, {**base.defaults, "case": "ok"}, _build)
