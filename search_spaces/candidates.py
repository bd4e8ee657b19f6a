"""The points a zoom trial chooses among, and how it chooses.

A zoom trial draws CANDIDATES points in its stage's region: half from truncated normals
around the centre (the narrow and the wide ranges in turn), half uniform in the stage's box.
An exploring trial (the last of each zoom stage, past the trials the next stage waits for)
also draws GLOBAL_CANDIDATES uniformly in the whole branch. The stage's model rates them all
by expected improvement; then REFINE_CANDIDATES small steps from its REFINE_TOP favourites
and, for the favourite, each parameter moved to either end of its range are rated too, and
the trial runs the best of everything. The steps are a cheap local search of the
acquisition; the moves to the ends reach the corners where scikit-learn's tolerances and
minimum leaf sizes have their best values, which no normal draw lands on exactly.

Every draw comes from the trial's own random stream, so a point depends only on (seed,
stage, index), the stage's model and the points it believes. bench/quality.py measured each
part (bench/README.md, issue 21).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import numpy as np

from search_spaces.box import Box
from search_spaces.space import SearchSpace
from search_spaces.surrogate import StageModel
from search_spaces.zoom import Region

CANDIDATES = 64  # drawn in the stage's region, around its centre and across its box
GLOBAL_CANDIDATES = 64  # drawn in the whole branch, for an exploring trial
REFINE_CANDIDATES = 64  # small steps from the model's favourites
REFINE_TOP = 4  # those favourites
REFINE_STEP = 0.1  # a step's sd, as a share of the range in each parameter
EDGE_MOVES = True  # the favourite with each parameter moved to either end of its range

Point = dict[str, float]


def in_region(region: Region, box: Box, space: SearchSpace, rng: random.Random) -> list[Point]:
    """CANDIDATES points: in fours, narrow and wide around the centre, then two in the box."""
    gen = _numpy_stream(rng)
    names = space.tuned_names
    kind = np.arange(CANDIDATES) % 4
    rows = np.empty((CANDIDATES, len(names)))
    for k, wide in ((0, False), (1, True)):
        rows[kind == k] = region.draw(gen, space, wide, int((kind == k).sum()))
    rows[kind >= 2] = box.draw(gen, space, int((kind >= 2).sum()))
    return _points(names, rows)


def choose(
    model: StageModel,
    drawn: list[Point],
    box: Box,
    whole: Box,
    space: SearchSpace,
    rng: random.Random,
    explore: bool,
) -> Point:
    """The point a zoom trial runs: the best by ``model`` of ``drawn``, of GLOBAL_CANDIDATES
    more in ``whole`` when it ``explore``s, and of the refining points around the favourites.
    A refining point stays in ``box`` when its favourite is in it, else in ``whole``."""
    if explore:
        anywhere = whole.draw(_numpy_stream(rng), space, GLOBAL_CANDIDATES)
        drawn = drawn + _points(space.tuned_names, anywhere)
    rated = model.acquisition(drawn)
    order = np.argsort(-rated, kind="stable")
    favourites = [drawn[i] for i in order[:REFINE_TOP]]
    near = refined(favourites, box, whole, space, rng)
    if not near:
        return drawn[int(order[0])]
    near_rated = model.acquisition(near)
    if near_rated.max() > rated[order[0]]:
        return near[int(np.argmax(near_rated))]
    return drawn[int(order[0])]


def refined(
    favourites: Sequence[Point], box: Box, whole: Box, space: SearchSpace, rng: random.Random
) -> list[Point]:
    """REFINE_CANDIDATES steps from the favourites in turn (normal, sd REFINE_STEP of the
    range, clipped to it), then the best favourite moved to each end of each range."""
    if not favourites:
        return []
    within = [box if box.contains(f, space) else whole for f in favourites]
    names = space.tuned_names
    which = np.arange(REFINE_CANDIDATES) % len(favourites)
    starts = np.array([[f[n] for n in names] for f in favourites])[which]
    lo, hi = (np.array([[b.intervals.get(n, (f[n], f[n]))[end] for n in names]
                        for f, b in zip(favourites, within, strict=True)])[which]
              for end in (0, 1))  # fmt: skip
    steps = _numpy_stream(rng).normal(0.0, 1.0, starts.shape) * (REFINE_STEP * (hi - lo))
    out = _points(names, np.clip(starts + steps, lo, hi))
    if EDGE_MOVES:
        best = favourites[0]
        for name, (low, high) in within[0].intervals.items():
            out.extend({**best, name: end} for end in (low, high))
    return out


def _numpy_stream(rng: random.Random) -> np.random.Generator:
    """A numpy generator seeded from the trial's own stream: the trial's draws stay a function
    of (seed, stage, index), made a whole column at a time."""
    return np.random.default_rng(rng.getrandbits(64))


def _points(names: Sequence[str], rows: np.ndarray) -> list[Point]:
    return [dict(zip(names, row, strict=True)) for row in rows.tolist()]
