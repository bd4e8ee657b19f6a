"""Latin hypercube points for a coarse stage: every parameter's range cut into as many
slices as the stage has trials, each slice holding one trial.

Uniform random points leave gaps and clumps at 10 to 30 trials; stratified ones cover each
parameter evenly, which bench/quality.py measured as a better start for the zoom stages.
Each trial's point still depends only on (seed, stage, index), so a search is deterministic
and resumable.
"""

from __future__ import annotations

import random

from search_spaces.scales import Choice
from search_spaces.space import SearchSpace


def latin_slices(space: SearchSpace, seed: int, stage: int, trials: int) -> dict[str, list[int]]:
    """Per tuned parameter, which slice each trial index takes: a seeded permutation.

    Built once per stage; drawing it per trial would cost O(trials) each time.
    """
    slices: dict[str, list[int]] = {}
    for name in space.tuned_names:
        order = list(range(trials))
        random.Random(f"{seed}:{stage}:latin:{name}").shuffle(order)
        slices[name] = order
    return slices


def latin_point(
    space: SearchSpace, slices: dict[str, list[int]], index: int, rng: random.Random
) -> dict[str, float]:
    """Trial ``index``: in each parameter its own slice, placed within it by ``rng``.

    Choices take the category whose cell holds the point, so they are balanced too.
    """
    unit: dict[str, float] = {}
    for name in space.tuned_names:
        order = slices[name]
        u = (order[index] + rng.random()) / len(order)
        scale = space.params[name]
        unit[name] = scale.cell_centre(scale.category(u)) if isinstance(scale, Choice) else u
    return unit
