"""The workload of the committed old-version store (tests/fixtures/store-0.1.0.sqlite).

Deterministic per config, so a resumed trial scores what it scored when the store was made;
a large learning rate fails, so the store holds FAILED trials too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any


def fit(config: dict[str, Any], report: Callable[[dict[str, Any]], None]) -> None:
    if config["lr"] > 0.3:
        raise ValueError(f"lr {config['lr']:.3g} diverges")
    for epoch in range(1, int(config["epochs"]) + 1):
        time.sleep(float(config["pace"]))
        value = (
            -((math.log10(config["lr"]) + 2.5) ** 2) - 0.1 * (math.log2(config["width"]) - 5) ** 2
        )
        bonus = 0.05 if config["act"] == "tanh" else 0.0
        report({"epoch": epoch, "score": value + bonus - 1 / epoch})
