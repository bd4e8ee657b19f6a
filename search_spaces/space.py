"""A search space: named scales, and conversions between unit coordinates and values."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from search_spaces.scales import Choice, Scale, ScaleError, make_scale, short_repr


@dataclass(frozen=True)
class SearchSpace:
    """Ordered parameters; tuned ones get unit coordinates, fixed ones only values."""

    params: dict[str, Scale]

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> SearchSpace:
        """Build from the spec's `space:` mapping; errors name the path, e.g. 'lr.low'."""
        if not isinstance(raw, Mapping):
            raise ScaleError("", f"expected a mapping of parameter names, got {short_repr(raw)}")
        params: dict[str, Scale] = {}
        for name, entry in raw.items():
            if not isinstance(name, str) or not name:
                raise ScaleError(
                    "", f"expected non-empty strings as parameter names, got {short_repr(name)}"
                )
            try:
                params[name] = make_scale(entry)
            except ScaleError as err:
                raise err.within(name) from None
        return cls(params)

    @property
    def tuned_names(self) -> list[str]:
        return [name for name, scale in self.params.items() if scale.tuned]

    def fixed_values(self) -> dict[str, Any]:
        return {name: s.from_unit(0.5) for name, s in self.params.items() if not s.tuned}

    def sample_unit(self, rng: random.Random) -> dict[str, float]:
        """Coordinates of the tuned parameters, uniform over the whole space.

        Choices land on the centre of a random category's cell. Draws exactly what
        ``Box.full(space).sample(rng, space)`` draws, so seeded searches keep their trials.
        """
        unit: dict[str, float] = {}
        for name in self.tuned_names:
            scale = self.params[name]
            if isinstance(scale, Choice):
                unit[name] = scale.cell_centre(rng.choice(range(scale.cells)))
            else:
                unit[name] = rng.random()
        return unit

    def to_values(self, unit: Mapping[str, float]) -> dict[str, Any]:
        """Values of all parameters, fixed ones included, in the space's order."""
        return {
            name: s.from_unit(unit[name]) if s.tuned else s.from_unit(0.5)
            for name, s in self.params.items()
        }

    def to_unit(self, values: Mapping[str, Any]) -> dict[str, float]:
        return {name: self.params[name].to_unit(values[name]) for name in self.tuned_names}

    def grid_size(self, points: int) -> int:
        """How many points ``grid(points)`` has, without building them."""
        return math.prod(len(self.params[name].grid(points)) for name in self.tuned_names)

    def grid(self, points: int) -> list[dict[str, Any]]:
        """Cartesian product of each tuned parameter's grid, the first parameter varying slowest."""
        names = self.tuned_names
        axes = [self.params[name].grid(points) for name in names]
        fixed = self.fixed_values()
        out = []
        for combo in itertools.product(*axes):
            merged = {**fixed, **dict(zip(names, combo, strict=True))}
            out.append({name: merged[name] for name in self.params})
        return out
