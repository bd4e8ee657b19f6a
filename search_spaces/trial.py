"""A trial: the one type for what a strategy suggests, what a worker runs and what is told back.

A trial's hyperparameter values are its ``params`` everywhere (MLflow's and Optuna's word for
them, and the namespace of the trial tables); ``unit`` holds the sampling coordinates of its
tuned ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Trial:
    """A trial to run: a stable key (``stage-index``), its stage, unit coordinates and params."""

    key: str
    stage: int
    unit: dict[str, float]
    params: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        """The plain mapping Ray Tune carries as the trial's config."""
        return {"key": self.key, "stage": self.stage, "unit": self.unit, "params": self.params}

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Trial:
        return cls(str(wire["key"]), int(wire["stage"]), dict(wire["unit"]), dict(wire["params"]))


@dataclass(frozen=True)
class TrialResult(Trial):
    """A told trial: score None or an error set means it failed."""

    score: float | None = None
    error: str | None = None

    @classmethod
    def of(cls, trial: Trial, score: float | None, error: str | None = None) -> TrialResult:
        return cls(trial.key, trial.stage, trial.unit, trial.params, score, error)

    @property
    def failed(self) -> bool:
        # NaN/inf scores come from diverged runs: they must never rank as best.
        return self.error is not None or self.score is None or not math.isfinite(self.score)


def better(a: float, b: float, mode: str) -> bool:
    """Whether score ``a`` beats ``b`` for ``mode`` ('max' or 'min')."""
    return a > b if mode == "max" else a < b


def ranked(results: list[TrialResult], mode: str) -> list[TrialResult]:
    """Finished trials best first; ties broken by key so the order never depends on tell order."""
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
    sign = -1.0 if mode == "max" else 1.0
    finished = [r for r in results if not r.failed]
    return sorted(finished, key=lambda r: (sign * r.score, r.key))  # type: ignore[operator]
