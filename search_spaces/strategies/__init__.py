"""Search strategies behind one ask/tell interface, chosen by name from the spec.

`REGISTRY` is the one list of strategies: the spec validates `search.strategy` against it and
reads from it which setting sizes the search; `make_strategy` builds from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from search_spaces.space import SearchSpace
from search_spaces.strategies.base import (
    DONE,
    WAIT,
    Signal,
    StageRecord,
    Strategy,
    Trial,
)
from search_spaces.strategies.coarse_to_fine import CoarseToFine, StageSpec, stages_for
from search_spaces.strategies.grid import GridSearch
from search_spaces.strategies.random import RandomSearch

SizedBy = Literal["trials", "stages", "grid_points"]


@dataclass(frozen=True)
class StrategyEntry:
    """What sizes a strategy (the spec's `search.<sized_by>`) and how to build it.

    `build(space, mode, seed, size)` gets the value of that setting as `size`.
    """

    sized_by: SizedBy
    build: Callable[[SearchSpace, str, int, Any], Strategy]


def _optuna_tpe(space: SearchSpace, mode: str, seed: int, trials: int) -> Strategy:
    # Imported here so that optuna loads only for the strategy that uses it.
    from search_spaces.strategies.optuna_tpe import OptunaTPE

    return OptunaTPE(space, mode, seed, trials)


def _optuna_gp(space: SearchSpace, mode: str, seed: int, trials: int) -> Strategy:
    from search_spaces.strategies.optuna_tpe import OptunaGP

    return OptunaGP(space, mode, seed, trials)


REGISTRY: dict[str, StrategyEntry] = {
    "random": StrategyEntry("trials", RandomSearch),
    "grid": StrategyEntry("grid_points", GridSearch),
    "coarse_to_fine": StrategyEntry("stages", CoarseToFine),
    "optuna_tpe": StrategyEntry("trials", _optuna_tpe),
    "optuna_gp": StrategyEntry("trials", _optuna_gp),
}


def make_strategy(
    name: str,
    space: SearchSpace,
    mode: str,
    seed: int,
    *,
    trials: int | None = None,
    stages: Sequence[StageSpec] | None = None,
    grid_points: int = 3,
) -> Strategy:
    """Build a strategy by its spec name; trials or stages must be given where it needs them."""
    entry = REGISTRY.get(name)
    if entry is None:
        raise ValueError(f"strategy: expected one of {', '.join(REGISTRY)}, got {name!r}")
    size = {"trials": trials, "stages": stages, "grid_points": grid_points}[entry.sized_by]
    if size is None or (entry.sized_by == "stages" and not size):
        raise ValueError(f"strategy {name!r} needs {entry.sized_by}")
    return entry.build(space, mode, seed, size)


__all__ = [
    "DONE",
    "REGISTRY",
    "WAIT",
    "CoarseToFine",
    "GridSearch",
    "RandomSearch",
    "Signal",
    "StageRecord",
    "StageSpec",
    "Strategy",
    "StrategyEntry",
    "Trial",
    "make_strategy",
    "stages_for",
]
