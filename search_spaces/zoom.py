"""Where a zoom stage samples: a region around the best trial, sized per parameter.

A coarse-to-fine stage after the first samples near the best trial so far, in unit
coordinates. Three rules, each measured in bench/quality.py (see bench/README.md):

- The centre is the best trial, except that in each parameter where some of the top three
  trials agree with it (lie within half the side of it) their mean is used. With noisy
  scores the best trial is partly luck; averaging where the top trials agree removes some
  of that luck without mixing separate optima.
- The side starts at 0.4 and shrinks by 0.6 after every zoom that did not improve on the
  best score, down to 0.01: a trust region that shrinks when it stops paying.
- A parameter's range is never narrower than the spread of the top trials in it. Half the
  trials use twice the median distance of the top trials from the centre ("narrow"), half
  four standard deviations of their coordinates ("wide"). A parameter the score does not
  depend on keeps a wide range; one that matters is pinned down; the narrow half keeps
  refining one optimum when the top trials sit on several.

Within its range a parameter is drawn from a normal around the centre (sd a quarter of the
range), truncated to the range and [0, 1]. Choices are drawn uniformly from the categories
of the top trials.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np

from search_spaces.box import Box, choice_points, choice_scale
from search_spaces.space import SearchSpace
from search_spaces.trial import TrialResult

INITIAL_SIDE = 0.4
SHRINK = 0.6
MIN_SIDE = 0.01
AGREEING_TOP = 3  # top trials whose agreeing coordinates are averaged into the centre
MIN_TOP = 3  # the fewest trials whose spread sizes a range


def next_side(side: float | None, improved: bool) -> float:
    """The trust region's side for the next zoom: kept after an improvement, else shrunk."""
    if side is None:
        return INITIAL_SIDE
    return side if improved else max(MIN_SIDE, side * SHRINK)


@dataclass(frozen=True)
class Region:
    """A zoom stage's sampling region: centre and widths per continuous parameter."""

    centre: dict[str, float]
    narrow: dict[str, float]
    wide: dict[str, float]
    categories: dict[str, tuple[int, ...]]

    def half_width(self, name: str) -> float:
        """How far from the centre a parameter's samples can lie, narrow and wide together."""
        return max(self.narrow[name], self.wide[name]) / 2

    def box(self) -> Box:
        """The bounding box of everything the region can sample, as stages record it."""
        intervals = {}
        for name, c in self.centre.items():
            half = self.half_width(name)
            intervals[name] = (max(0.0, c - half), min(1.0, c + half))
        return Box(intervals, dict(self.categories))

    def draw(
        self, gen: np.random.Generator, space: SearchSpace, wide: bool, count: int
    ) -> np.ndarray:
        """``count`` points, one row each in ``space.tuned_names`` order: each parameter a
        normal around the centre (sd a quarter of its width) truncated to centre +- width / 2
        and [0, 1] by up to 20 redraws, then uniform there; a choice uniform among the allowed
        categories. A column at a time: a zoom trial weighs dozens of these."""
        widths = self.wide if wide else self.narrow
        columns = []
        for name in space.tuned_names:
            if name in self.categories:
                columns.append(choice_points(gen, space, name, self.categories[name], count))
            else:
                columns.append(_truncated_normals(gen, self.centre[name], widths[name], count))
        return np.column_stack(columns) if columns else np.empty((count, 0))


def zoom_region(
    space: SearchSpace, finished: list[TrialResult], side: float, keep_top: float, pad: float
) -> Region:
    """The region for the next zoom from finished trials ranked best first (none failed).

    ``keep_top`` is the fraction of them (at least three) whose spread sizes each range;
    ``pad`` widens every range by that much on each side.
    """
    if not finished:
        raise ValueError("a zoom needs at least one finished trial")
    # The epsilon keeps 0.1 * 30 from rounding up to 4.
    count = max(MIN_TOP, math.ceil(keep_top * len(finished) - 1e-9))
    top = finished[:count]
    best = finished[0].unit
    full = Box.full(space)
    centre, narrow, wide = {}, {}, {}
    for name in full.intervals:
        agreeing = [
            r.unit[name]
            for r in finished[:AGREEING_TOP]
            if abs(r.unit[name] - best[name]) <= side / 2
        ]
        centre[name] = statistics.fmean(agreeing)
        coords = [r.unit[name] for r in top]
        distances = sorted(abs(x - centre[name]) for x in coords)
        median_distance = distances[(len(distances) - 1) // 2]
        narrow[name] = max(side, 2 * median_distance) + 2 * pad
        wide[name] = max(side, 4 * statistics.pstdev(coords)) + 2 * pad
    categories = {}
    for name in full.categories:
        choice = choice_scale(space, name)
        categories[name] = tuple(sorted({choice.category(r.unit[name]) for r in top}))
    return Region(centre, narrow, wide, categories)


def _truncated_normals(
    gen: np.random.Generator, centre: float, width: float, count: int
) -> np.ndarray:
    """Normal(centre, width / 4) kept inside centre +- width / 2 and [0, 1] by redrawing."""
    lo, hi = max(0.0, centre - width / 2), min(1.0, centre + width / 2)
    x = gen.normal(centre, width / 4, count)
    for _ in range(19):
        outside = (x < lo) | (x > hi)
        if not outside.any():
            return x
        x[outside] = gen.normal(centre, width / 4, int(outside.sum()))
    outside = (x < lo) | (x > hi)  # only when almost all the normal's mass is outside
    x[outside] = lo + gen.random(int(outside.sum())) * (hi - lo)
    return x
