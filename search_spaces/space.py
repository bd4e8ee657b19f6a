"""A search space: named scales, and conversions between unit coordinates and values.

A space may be conditional (search_spaces.branches): then a trial has unit coordinates and
values for its active parameters only, and every walk over the space goes parents first, so
that a choice's value decides which of its children come next.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from search_spaces.branches import (
    Branch,
    Condition,
    branching_parents,
    enumerate_branches,
    is_active,
)
from search_spaces.conditional_spec import parse_space
from search_spaces.scales import Choice, Scale, ScaleError, short_repr


@dataclass(frozen=True)
class SearchSpace:
    """Ordered parameters (parents first) by coordinate name; tuned ones get unit
    coordinates, fixed ones only values. ``conditions`` and ``plain`` are empty for a flat
    space; ``plain`` maps a coordinate name to the name trials see, where they differ."""

    params: dict[str, Scale]
    conditions: dict[str, tuple[Condition, ...]] = field(default_factory=dict)
    plain: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> SearchSpace:
        """Build from the spec's `space:` mapping; errors name the path, e.g. 'lr.low'."""
        if not isinstance(raw, Mapping):
            raise ScaleError("", f"expected a mapping of parameter names, got {short_repr(raw)}")
        parsed = parse_space(raw)
        return cls(parsed.params, parsed.conditions, parsed.plain)

    @property
    def conditional(self) -> bool:
        """Whether some parameter exists in some branches only."""
        return bool(self.conditions)

    def name_of(self, coordinate: str) -> str:
        """The name a trial sees for a coordinate: 'lr' for 'lr/optimizer:sgd'."""
        return self.plain.get(coordinate, coordinate)

    @property
    def tuned_names(self) -> list[str]:
        """Every tuned coordinate, of every branch."""
        return [name for name, scale in self.params.items() if scale.tuned]

    @property
    def value_names(self) -> list[str]:
        """The names trials see, each once, in space order."""
        return list(dict.fromkeys(self.name_of(n) for n in self.params))

    @property
    def tuned_value_names(self) -> list[str]:
        """The names trials see of the tuned parameters, each once, in space order."""
        return list(dict.fromkeys(self.name_of(n) for n in self.tuned_names))

    @cached_property
    def branches(self) -> list[Branch]:
        """Every combination of the branching choices' values: one for a flat space."""
        return enumerate_branches(self.params, self.conditions, self.plain)

    @cached_property
    def branching(self) -> frozenset[str]:
        """The coordinates other parameters depend on."""
        return branching_parents(self.conditions)

    def walk(self, coordinate: Callable[[str, Scale], float]) -> dict[str, float]:
        """Unit coordinates of the active tuned parameters, each ``coordinate(name, scale)``.

        Called parents first, and only for parameters their parents' draws made active.
        """
        if not self.conditional:  # every parameter active: the common case, kept fast
            return {name: coordinate(name, s) for name, s in self.params.items() if s.tuned}
        unit: dict[str, float] = {}
        values: dict[str, Any] = {}
        for name, scale in self.params.items():
            if not is_active(self.conditions.get(name, ()), values):
                continue
            if scale.tuned:
                unit[name] = coordinate(name, scale)
            if name in self.branching:
                values[name] = scale.from_unit(unit[name] if scale.tuned else 0.5)
        return unit

    def active_names(self, unit: Mapping[str, float]) -> list[str]:
        """The coordinates (tuned and fixed) active at a point, in space order."""
        return list(self.branch_of(unit).names) if self.conditional else list(self.params)

    def is_complete(self, unit: Mapping[str, float]) -> bool:
        """Whether a point has a coordinate for each of its active tuned parameters, no more."""
        try:
            active = {n for n in self.active_names(unit) if self.params[n].tuned}
        except ValueError:
            return False
        return active == set(unit)

    def branch_of(self, unit: Mapping[str, float]) -> Branch:
        """The branch a point (unit coordinates of its active tuned parameters) lies in."""
        values: dict[str, Any] = {}
        for name, scale in self.params.items():
            if name not in self.branching or not is_active(self.conditions.get(name, ()), values):
                continue
            if scale.tuned and name not in unit:
                raise ValueError(f"the point {dict(unit)!r} has no coordinate for {name}")
            values[name] = scale.from_unit(unit[name] if scale.tuned else 0.5)
        for branch in self.branches:
            if len(branch.choices) == len(values) and branch.matches(values):
                return branch
        raise ValueError(f"no branch of the space holds the point {dict(unit)!r}")

    def branch_space(self, branch: Branch) -> SearchSpace:
        """The flat space of one branch's active parameters, under their coordinate names."""
        params = {n: self.params[n] for n in branch.names}
        return SearchSpace(params, {}, {n: p for n, p in self.plain.items() if n in params})

    def fixed_in(self, branch: Branch) -> dict[str, Any]:
        """The values a branch fixes, by the names trials see: its fixed parameters and its
        choices (for a flat space's one branch, the fixed parameters)."""
        fixed = {
            self.name_of(n): self.params[n].from_unit(0.5)
            for n in branch.names
            if not self.params[n].tuned
        }
        return {**fixed, **{self.name_of(n): v for n, v in branch.choices}}

    def sample_unit(self, rng: random.Random) -> dict[str, float]:
        """Coordinates of the tuned parameters, uniform over the whole space.

        Choices land on the centre of a random category's cell. Draws exactly what
        ``Box.full(space).sample(rng, space)`` draws, so seeded searches keep their trials.
        """

        def draw(name: str, scale: Scale) -> float:
            if isinstance(scale, Choice):
                return scale.cell_centre(rng.choice(range(scale.cells)))
            return rng.random()

        return self.walk(draw)

    def to_values(self, unit: Mapping[str, float]) -> dict[str, Any]:
        """Values of the active parameters, fixed ones included, by the names trials see."""
        out: dict[str, Any] = {}
        for name in self.active_names(unit):
            s = self.params[name]
            out[self.name_of(name)] = s.from_unit(unit[name]) if s.tuned else s.from_unit(0.5)
        return out

    def to_unit(self, values: Mapping[str, Any]) -> dict[str, float]:
        """Unit coordinates of a trial's values (by the names trials see)."""
        return self.walk(lambda name, scale: scale.to_unit(values[self.name_of(name)]))

    def grid_size(self, points: int) -> int:
        """How many points ``grid(points)`` has, without building them."""
        return sum(
            math.prod(
                len(self.params[n].grid(points))
                for n in branch.names
                if self.params[n].tuned and n not in dict(branch.choices)
            )
            for branch in self.branches
        )

    def grid(self, points: int) -> list[dict[str, Any]]:
        """Each branch's cartesian product of its tuned parameters' grids, the first parameter
        varying slowest; values by the names trials see, in space order."""
        out: list[dict[str, Any]] = []
        for branch in self.branches:
            axes: list[tuple[str, list[Any]]] = []
            choices = dict(branch.choices)
            for n in branch.names:
                scale = self.params[n]
                if n in choices:
                    axes.append((n, [choices[n]]))
                else:
                    axes.append((n, scale.grid(points) if scale.tuned else scale.grid(1)))
            combos: list[dict[str, Any]] = [{}]
            for n, options in axes:
                combos = [{**c, self.name_of(n): v} for c in combos for v in options]
            out.extend(combos)
        return out
