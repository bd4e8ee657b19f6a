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


def latin_point(
    space: SearchSpace, seed: int, stage: int, trials: int, index: int, rng: random.Random
) -> dict[str, float]:
    """Trial ``index`` of ``trials``: in each parameter its own slice, placed by ``rng``.

    Choices take the category whose cell holds the point, so they are balanced too.
    """
    unit: dict[str, float] = {}
    for name in space.tuned_names:
        slices = list(range(trials))
        random.Random(f"{seed}:{stage}:latin:{name}").shuffle(slices)
        u = (slices[index] + rng.random()) / trials
        scale = space.params[name]
        unit[name] = scale.cell_centre(scale.category(u)) if isinstance(scale, Choice) else u
    return unit
