"""A search in the shape the report draws: trials, stages, curves; built by searcher.tracking."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dashboards.columns import SCORE
from search_spaces.box import Box
from search_spaces.space import SearchSpace


@dataclass(frozen=True)
class SearchInfo:
    """Which search a view shows and what it optimised."""

    search_id: str  # the MLflow run id of its parent run
    experiment: str
    metric: str
    mode: str


@dataclass(frozen=True)
class WarmStartView:
    """Where a warm-started search began: the earlier search, why some of its trials were
    left out, its usable trials (``prior``: key, score, ``params.<name>``, ``unit.<name>``)
    and the reruns (this search's key -> the earlier trial's key)."""

    experiment: str
    search_id: str
    unusable: dict[str, int]
    prior: pd.DataFrame
    reruns: dict[str, str]


@dataclass
class SearchView:
    """One search: its trials (with unit coordinates and run order) and its stage boxes.

    ``trials`` has dashboards.columns' layout: ``score``, ``params.<name>``, ``unit.<name>``,
    plus ``order`` and ``start_time`` (and ``branch`` in a conditional space: a trial's
    ``unit.<name>`` is empty where the parameter was not active)."""

    search: SearchInfo
    space: SearchSpace
    trials: pd.DataFrame
    boxes: dict[int, Box]
    ranges: dict[int, dict[str, str]]
    warnings: list[str]
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    branches: dict[int, dict[str, Any]] = field(default_factory=dict)  # stage -> label -> box
    warm_start: WarmStartView | None = None
    # A one-stage strategy extended by `searcher extend`: its planned trials after each run;
    # ``trials``' stage column then numbers the runs (the first run's trials stage 1).
    rounds: tuple[int, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.search.experiment} ({self.search.search_id[:8]})"

    @property
    def metric(self) -> str:
        return self.search.metric

    @property
    def scored(self) -> pd.DataFrame:
        """Trials with a finite score, best first."""
        return self.trials[self.trials[SCORE].map(finite)]


def finite(value: object) -> bool:
    """A real number that is not NaN or infinite: a score, or a unit coordinate a trial had."""
    return isinstance(value, int | float) and math.isfinite(value)
