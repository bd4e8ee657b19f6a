"""Random search: every trial sampled uniformly in unit coordinates."""

from __future__ import annotations

from search_spaces.space import SearchSpace
from search_spaces.strategies.base import DONE, Signal, Strategy, Trial, trial_rng


class RandomSearch(Strategy):
    """One stage of `trials` uniform samples."""

    def __init__(self, space: SearchSpace, mode: str, seed: int, trials: int) -> None:
        super().__init__(space, mode, seed)
        if trials < 1:
            raise ValueError(f"trials must be >= 1, got {trials}")
        self.planned_trials = trials
        self._asked = 0

    def _next(self) -> Trial | Signal:
        if self._asked >= self.planned_trials:
            return DONE
        index, self._asked = self._asked, self._asked + 1
        return self._suggest(1, index, self.space.sample_unit(trial_rng(self.seed, 1, index)))
