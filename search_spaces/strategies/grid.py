"""Grid search over each tuned parameter's evenly spaced unit coordinates."""

from __future__ import annotations

from search_spaces.prior import alike
from search_spaces.space import SearchSpace
from search_spaces.strategies.base import DONE, Signal, Strategy, Trial, trial_key


class GridSearch(Strategy):
    """The cartesian grid of `points` per parameter (choices: all values); seed is unused."""

    def __init__(self, space: SearchSpace, mode: str, seed: int, points: int = 3) -> None:
        super().__init__(space, mode, seed)
        self._grid = space.grid(points)
        self._order = list(range(len(self._grid)))  # the grid indices still to run
        self.planned_trials = len(self._grid)
        self._asked = 0

    def _on_prior(self) -> None:
        """Grid points an earlier search already ran are skipped; the others keep their keys."""
        ran = [r.params for r in self._prior]
        names = self.space.tuned_value_names
        self._order = [
            i
            for i, point in enumerate(self._grid)
            if not any(all(alike(point.get(n), p.get(n)) for n in names) for p in ran)
        ]
        self.planned_trials = len(self._order)
        self.reruns = {}  # a grid runs its points once: it has none to run again
        self._given = []

    def _next(self) -> Trial | Signal:
        if self._asked >= self.planned_trials:
            return DONE
        index, self._asked = self._order[self._asked], self._asked + 1
        values = self._grid[index]
        # Hand out the grid's own values: converting back from unit could cost an ulp.
        return Trial(trial_key(1, index), 1, self.space.to_unit(values), values)
