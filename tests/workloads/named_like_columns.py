"""A workload whose space names entries like the trials table's own columns (status, trial,
stage, order, error, run_id, score, key, plus version: a string that looks like a number).
What it received comes back as metrics (``ran_*``), so a test can check that every reader
shows each value as it ran.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

FIXED = {
    "status": "not-a-status",
    "order": 42,
    "error": "no error",
    "run_id": "xyz",
    "version": "0.10",
}


def fit(params: dict[str, Any], report: Callable[[dict[str, Any]], None]) -> None:
    for name, value in FIXED.items():
        if params[name] != value or type(params[name]) is not type(value):
            raise ValueError(f"{name} arrived as {params[name]!r}, expected {value!r}")
    if type(params["stage"]) is not int or params["trial"] not in ("a", "b"):
        raise ValueError(f"stage {params['stage']!r}, trial {params['trial']!r}")
    b, k2 = params["trial"] == "b", params["key"] == "k2"
    quality = params["score"] + params["stage"] + b + 2 * k2 - abs(math.log10(params["lr"]) + 2)
    report(
        {
            "quality": quality,
            "ran_score": float(params["score"]),
            "ran_stage": float(params["stage"]),
            "ran_lr": float(params["lr"]),
            "ran_trial_b": float(b),
            "ran_key_k2": float(k2),
        }
    )
