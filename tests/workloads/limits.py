"""A test workload that breaks its limits on purpose: one trial per way, chosen by ``mode``.

``ok`` reports and ends; ``sleeps`` hangs in a sleep that ignores every stop; ``leaks`` holds
ever more memory; ``exits`` ends its worker process with ``os._exit``. Each trial writes its
worker's pid to the ``pids`` folder first.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def fit(config: dict[str, Any], report: Callable[[dict[str, Any]], None]) -> None:
    Path(config["pids"], config["mode"]).write_text(str(os.getpid()))
    report({"epoch": 1, "score": 1.0})
    if config["mode"] == "sleeps":
        time.sleep(100_000)
    if config["mode"] == "exits":
        os._exit(3)
    held = []
    while config["mode"] == "leaks":
        held.append(b"\x01" * (50 * 2**20))  # written, so resident at once
        time.sleep(0.05)
    report({"epoch": 2, "score": 2.0})
