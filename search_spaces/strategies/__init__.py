"""Search strategies behind one ask/tell interface, chosen by name from the spec."""

from __future__ import annotations

from search_spaces.space import SearchSpace
from search_spaces.strategies.base import (
    DONE,
    WAIT,
    Signal,
    StageRecord,
    Strategy,
    Suggestion,
)
from search_spaces.strategies.coarse_to_fine import CoarseToFine, StageSpec
from search_spaces.strategies.grid import GridSearch
from search_spaces.strategies.random import RandomSearch

STRATEGIES = ("random", "grid", "coarse_to_fine", "optuna_tpe")


def make_strategy(
    name: str,
    space: SearchSpace,
    mode: str,
    seed: int,
    *,
    trials: int | None = None,
    stages: list[StageSpec] | None = None,
    grid_points: int = 3,
) -> Strategy:
    """Build a strategy by its spec name; trials or stages must be given where it needs them."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; expected one of {', '.join(STRATEGIES)}")
    if name == "grid":
        return GridSearch(space, mode, seed, points=grid_points)
    if name == "coarse_to_fine":
        if not stages:
            raise ValueError("strategy 'coarse_to_fine' needs stages")
        return CoarseToFine(space, mode, seed, stages)
    if trials is None:
        raise ValueError(f"strategy {name!r} needs trials")
    if name == "random":
        return RandomSearch(space, mode, seed, trials)
    # Imported here so that optuna loads only for the strategy that uses it.
    from search_spaces.strategies.optuna_tpe import OptunaTPE

    return OptunaTPE(space, mode, seed, trials)


__all__ = [
    "DONE",
    "STRATEGIES",
    "WAIT",
    "CoarseToFine",
    "GridSearch",
    "RandomSearch",
    "Signal",
    "StageRecord",
    "StageSpec",
    "Strategy",
    "Suggestion",
    "make_strategy",
]
