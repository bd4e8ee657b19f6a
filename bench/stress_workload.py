"""A trial that only reports: ``epochs`` results, ``pace`` seconds apart, six metrics each.

bench/tracking.py runs many of these at once, so that what is measured is the driver's
handling of results (Tune's loop, the tracking), not training.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any


def fit(config: dict[str, Any], report: Callable[[dict[str, Any]], None]) -> None:
    started = time.monotonic()
    for epoch in range(1, int(config["epochs"]) + 1):
        # Paced against the start, so a slow report does not stretch the trial.
        time.sleep(max(0.0, started + epoch * float(config["pace"]) - time.monotonic()))
        score = 1.0 - math.exp(-epoch * float(config["lr"]))
        report(
            {
                "epoch": epoch,
                "score": score,
                "train_loss": 1.0 - score,
                "val_loss": 1.1 - score,
                "lr": float(config["lr"]),
                "epoch_seconds": float(config["pace"]),
            }
        )
