"""Latin hypercube points for a coarse stage: every parameter's range cut into as many
slices as the stage has trials, each slice holding one trial.

Uniform random points leave gaps and clumps at 10 to 30 trials; stratified ones cover each
parameter evenly, which bench/quality.py measured as a better start for the zoom stages.
Each trial's point still depends only on (seed, stage, index), so a search is deterministic
and resumable.

In a conditional space the stratification is per branch: a choice that others depend on
takes its categories in exactly balanced turns (20 trials over 3 optimizers: 7, 7 and 6),
and a parameter that exists in some branches only is sliced over the trials that have it.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from search_spaces.branches import is_active
from search_spaces.scales import Choice, Scale
from search_spaces.space import SearchSpace


@dataclass(frozen=True)
class LatinSlices:
    """Per tuned parameter, the slice each trial index takes (absent where it is inactive),
    and how many slices its range is cut into."""

    slice_of: dict[str, dict[int, int]]
    count: dict[str, int]
    branching: frozenset[str]


def latin_slices(
    space: SearchSpace,
    seed: int,
    stage: int,
    trials: int,
    given: Mapping[int, Mapping[str, float]] | None = None,
) -> LatinSlices:
    """A seeded permutation per tuned parameter over the trials it is active in.

    ``given``: the unit coordinates that trials with these indices take whatever their slice
    (start_with's configurations, reruns). Each takes the slice its value lies in, so the
    other trials fill the slices no given value covers instead of leaving them empty. Built
    once per stage; drawing it per trial would cost O(trials) each time.
    """
    given = given or {}
    branching = space.branching
    values: list[dict[str, Any]] = [{} for _ in range(trials)]
    slice_of: dict[str, dict[int, int]] = {}
    count: dict[str, int] = {}
    for name, scale in space.params.items():
        conditions = space.conditions.get(name, ())
        members = [i for i in range(trials) if is_active(conditions, values[i])]
        if scale.tuned:
            order = list(range(len(members)))
            random.Random(f"{seed}:{stage}:latin:{name}").shuffle(order)
            taken = {} if name in branching else {
                i: given[i][name] for i in members if name in given.get(i, {})
            }  # fmt: skip
            slice_of[name] = _assign(members, order, taken)
            count[name] = len(members)
        if name in branching:
            for i in members:
                values[i][name] = (
                    scale.values[_balanced_cell(scale, slice_of[name][i], count[name])]
                    if isinstance(scale, Choice)
                    else scale.from_unit(0.5)
                )
    return LatinSlices(slice_of, count, branching)


def _assign(members: list[int], order: list[int], taken: Mapping[int, float]) -> dict[int, int]:
    """Each member's slice: a given coordinate's own slice (the first to claim it), then the
    free slices in the seeded ``order`` for the others, with the given trials that found
    their slice claimed last (their value is fixed; the slice they take stays empty)."""
    n = len(members)
    claimed: dict[int, int] = {}
    for i, u in taken.items():
        slot = min(int(u * n), n - 1)
        if slot not in claimed.values():
            claimed[i] = slot
    used = set(claimed.values())
    free = [s for s in order if s not in used]
    rest = [i for i in members if i not in taken] + [i for i in taken if i not in claimed]
    return {**claimed, **dict(zip(rest, free, strict=True))}


def _balanced_cell(scale: Choice, slice_index: int, slices: int) -> int:
    """The category of a slice when the categories take the slices in equal shares."""
    return slice_index * scale.cells // slices


def latin_point(
    space: SearchSpace, slices: LatinSlices, index: int, rng: random.Random
) -> dict[str, float]:
    """Trial ``index``: in each parameter its own slice, placed within it by ``rng``.

    Choices take the category whose cell holds the point, so they are balanced too.
    """

    def draw(name: str, scale: Scale) -> float:
        position, n = slices.slice_of[name][index], slices.count[name]
        if name in slices.branching and isinstance(scale, Choice):
            return scale.cell_centre(_balanced_cell(scale, position, n))
        u = (position + rng.random()) / n
        return scale.cell_centre(scale.category(u)) if isinstance(scale, Choice) else u

    return space.walk(draw)
