"""Grid search over each tuned parameter's evenly spaced unit coordinates."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from search_spaces.scales import same
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
            i for i, point in enumerate(self._grid) if not any(_same(point, p, names) for p in ran)
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


def _same(point: dict[str, Any], other: Mapping[str, Any], names: list[str]) -> bool:
    """Whether two points have the same tuned values (floats to rounding)."""
    for name in names:
        a, b = point.get(name, _ABSENT), other.get(name, _ABSENT)
        if isinstance(a, float) and isinstance(b, float | int) and not isinstance(b, bool):
            if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
                return False
        elif not same(a, b):
            return False
    return True


_ABSENT = object()
