"""Known configurations a search runs first (the spec's ``search.start_with``).

Each is a mapping of values by the names trials see, for all tuned parameters or some: the
rest are sampled as the strategy would. Here a configuration becomes the unit coordinates it
fixes, after checking every value against its scale, so that a typo is a one-line spec error
and not a trial that runs somewhere else.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from search_spaces.branches import Branch
from search_spaces.constraints import is_number
from search_spaces.scales import (
    Choice,
    Int,
    IntLog,
    Linear,
    Log,
    OneMinusLog,
    Pow2,
    Scale,
    ScaleError,
    format_number,
    same,
    short_repr,
)
from search_spaces.space import SearchSpace


@dataclass(frozen=True)
class GivenPoint:
    """What one configuration fixes: unit coordinates, and the continuous values exactly as
    written (a value's unit coordinate and back can differ from it in the last digit)."""

    unit: dict[str, float]
    values: dict[str, float]


def given_points(space: SearchSpace, configs: Sequence[Any]) -> list[GivenPoint]:
    """What each configuration fixes; ScaleError fields read '2.lr'."""
    return [_given_point(space, config, str(i)) for i, config in enumerate(configs)]


def _given_point(space: SearchSpace, config: Any, field: str) -> GivenPoint:
    if not isinstance(config, Mapping) or not config:
        raise ScaleError(field, f"expected a mapping of parameter values, got {short_repr(config)}")
    tuned = set(space.tuned_value_names)
    for name in config:
        if not isinstance(name, str) or name not in space.value_names:
            known = ", ".join(space.tuned_value_names)
            raise ScaleError(f"{field}.{name}", f"expected one of {known}, got an unknown name")
        if name not in tuned:
            raise ScaleError(f"{field}.{name}", "expected a tuned parameter, got a fixed one")
    branches = _branches_of(space, config, field)
    unit: dict[str, float] = {}
    exact: dict[str, float] = {}
    for name, value in config.items():
        coordinates = {n for b in branches for n in b.names if space.name_of(n) == name}
        holding = [b for b in branches if any(space.name_of(n) == name for n in b.names)]
        if not holding:
            chosen = "; ".join(b.label for b in branches)
            raise ScaleError(
                f"{field}.{name}",
                f"expected a parameter of the branch these values choose ({chosen}), got "
                f"{name}, which is inactive there",
            )
        if len(holding) < len(branches) or len(coordinates) > 1:
            raise ScaleError(
                f"{field}.{name}",
                f"expected the values that choose its branch too, got {name} alone "
                f"(it exists in {'; '.join(b.label for b in holding)})",
            )
        (coordinate,) = coordinates
        scale = space.params[coordinate]
        unit[coordinate] = unit_of(scale, value, f"{field}.{name}")
        if isinstance(scale, Linear | Log | OneMinusLog):
            exact[name] = float(value)
    return GivenPoint(unit, exact)


def _branches_of(space: SearchSpace, config: Mapping[str, Any], field: str) -> list[Branch]:
    """The branches whose choices agree with every branching value the configuration gives."""
    agreeing = []
    for branch in space.branches:
        if all(
            space.name_of(n) not in config or same(config[space.name_of(n)], v)
            for n, v in branch.choices
        ):
            agreeing.append(branch)
    if not agreeing:
        raise ScaleError(field, f"expected values of one branch, got {short_repr(dict(config))}")
    return agreeing


def unit_of(scale: Scale, value: Any, field: str) -> float:
    """The unit coordinate of a given value, which must be one the scale can produce."""
    if isinstance(scale, Choice):
        if not any(same(value, v) for v in scale.values):
            values = ", ".join(format_number(v) for v in scale.values)
            raise ScaleError(field, f"expected one of {values}, got {short_repr(value)}")
        return scale.to_unit(value)
    if not is_number(value):
        raise ScaleError(field, f"expected a number ({scale.describe()}), got {short_repr(value)}")
    if isinstance(scale, Int | IntLog | Pow2):
        if not math.isfinite(value) or not float(value).is_integer():
            raise ScaleError(field, f"expected an integer ({scale.describe()}), got {value!r}")
        value = int(value)
        if isinstance(scale, Pow2) and value & (value - 1):
            raise ScaleError(field, f"expected a power of two ({scale.describe()}), got {value}")
    low, high = scale.from_unit(0.0), scale.from_unit(1.0)
    if not low <= value <= high:
        raise ScaleError(field, f"expected a value in {scale.describe()}, got {short_repr(value)}")
    return scale.to_unit(value)


def complete(
    space: SearchSpace, given: Mapping[str, float], sampled: Mapping[str, float], rng: random.Random
) -> dict[str, float]:
    """A full point: the given coordinates, the rest as sampled, and where the given values
    chose another branch than the sampled point's, its parameters drawn from ``rng``."""

    def draw(name: str, scale: Scale) -> float:
        if name in given:
            return given[name]
        if name in sampled:
            return sampled[name]
        return (
            scale.cell_centre(rng.randrange(scale.cells))
            if isinstance(scale, Choice)
            else rng.random()
        )

    return space.walk(draw)
