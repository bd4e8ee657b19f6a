"""A test workload for conditional spaces: it refuses any parameter its branch does not have,
so a trial handed an inactive one fails instead of passing unnoticed."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

ACTIVE = {
    "sgd": {"optimizer", "lr", "momentum", "nesterov", "weight_decay"},
    "adam": {"optimizer", "lr", "beta1", "beta2", "weight_decay", "dropout"},
    "rmsprop": {"optimizer", "lr", "rmsprop_alpha", "weight_decay", "dropout"},
}
OFFSET = {"adam": 0.0, "sgd": 0.3, "rmsprop": 0.6}  # adam is the best branch
BEST_LR = {"adam": 1e-3, "sgd": 3e-2, "rmsprop": 1e-3}


def score(config: dict[str, Any]) -> float:
    optimizer = config["optimizer"]
    return -OFFSET[optimizer] - (math.log10(config["lr"] / BEST_LR[optimizer])) ** 2


def fit(config: dict[str, Any], report: Callable[[dict[str, Any]], None]) -> None:
    given = set(config)
    if given != ACTIVE[config["optimizer"]]:
        raise ValueError(f"expected exactly the branch's parameters, got {sorted(given)}")
    report({"score": score(config)})
