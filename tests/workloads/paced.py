"""A test workload of the user's own kind: a known score, reported once per paced epoch.

Fault tests kill things in the middle of a search; the pace gives them a middle to aim at.
With a `pids` folder in the config, each trial leaves a file there named by its worker's pid;
an `offset` in the config moves every score by that much (an objective that drifted).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def score(lr: float, width: int) -> float:
    """Peaks at lr = 10^-2.5 and width 32."""
    return -((math.log10(lr) + 2.5) ** 2) - 0.1 * (math.log2(width) - 5) ** 2


def fit(config: dict[str, Any], report: Callable[[dict[str, Any]], None]) -> None:
    folder = config.get("pids")
    if folder:
        Path(folder, str(os.getpid())).write_text(f"{config['lr']} {config['width']}\n")
    for epoch in range(1, int(config["epochs"]) + 1):
        time.sleep(float(config["pace"]))
        value = score(config["lr"], config["width"]) - 1 / epoch + float(config.get("offset", 0))
        report({"epoch": epoch, "score": value})
