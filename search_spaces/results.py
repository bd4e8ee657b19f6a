"""What a strategy learns about one trial."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TrialResult:
    """A told trial: its coordinates, values and score; score None or error set means failed."""

    key: str
    stage: int
    unit: dict[str, float]
    values: dict[str, Any]
    score: float | None
    error: str | None = None

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
