"""The named workloads a search can run: which data sets they accept and what they tune."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from trials.errors import UnknownWorkload
from trials.hparams import COMMON_DEFAULTS
from trials.models import MLP, MnistCNN
from trials.sources import DATASETS

__all__ = ["REPORTED_METRICS", "WORKLOADS", "UnknownWorkload", "Workload", "get_workload"]

# What train() reports after every epoch besides "epoch"; a spec's metric must be one of these.
REPORTED_METRICS = (
    "val_loss",
    "val_accuracy",
    "train_loss",
    "lr",
    "epoch_seconds",
    "samples_per_second",
)


@dataclass(frozen=True)
class Workload:
    """A trainable model family; `defaults` lists every hyperparameter it accepts."""

    name: str
    datasets: tuple[str, ...]
    defaults: dict[str, Any]
    build_model: Callable[[dict[str, Any]], nn.Module]


def _mlp(p: dict[str, Any]) -> nn.Module:
    return MLP(p["hidden_units"], p["hidden_layers"], p["dropout"], p["batch_norm"])


def _cnn(p: dict[str, Any]) -> nn.Module:
    return MnistCNN(p["channels"], p["dropout"], p["batch_norm"])


WORKLOADS: dict[str, Workload] = {
    "mnist_mlp": Workload(
        "mnist_mlp", DATASETS, {**COMMON_DEFAULTS, "hidden_units": 256, "hidden_layers": 2}, _mlp
    ),
    "mnist_cnn": Workload("mnist_cnn", DATASETS, {**COMMON_DEFAULTS, "channels": 32}, _cnn),
}


def get_workload(name: str) -> Workload:
    """A workload by registered name, or a user's own as ``package.module:ATTRIBUTE``.

    The ``module:attr`` form lets users tune their own training code without editing ours; the
    module must be importable on every Ray worker (installed, or on PYTHONPATH).
    """
    if name in WORKLOADS:
        return WORKLOADS[name]
    if ":" not in name:
        raise UnknownWorkload(name, sorted(WORKLOADS))
    module_name, _, attr = name.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise UnknownWorkload(name, sorted(WORKLOADS), f"cannot load it: {exc}") from None
    if not isinstance(found, Workload):
        raise UnknownWorkload(name, sorted(WORKLOADS), "it is not a trials.registry.Workload")
    return found
