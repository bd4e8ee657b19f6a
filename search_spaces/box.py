"""Boxes in unit coordinates: where a coarse-to-fine stage samples, as stages record it."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from search_spaces.branches import Branch
from search_spaces.scales import Choice, Scale, format_number
from search_spaces.space import SearchSpace


def choice_scale(space: SearchSpace, name: str) -> Choice:
    """The Choice scale of a parameter known to be one."""
    scale = space.params[name]
    assert isinstance(scale, Choice)
    return scale


def choice_point(
    space: SearchSpace, name: str, allowed: tuple[int, ...], rng: random.Random
) -> float:
    """A choice parameter's coordinate: the centre of a uniformly drawn allowed category."""
    return choice_scale(space, name).cell_centre(rng.choice(allowed))


def choice_points(
    gen: np.random.Generator, space: SearchSpace, name: str, allowed: tuple[int, ...], count: int
) -> np.ndarray:
    """``count`` of choice_point's coordinates at once."""
    return (gen.choice(np.asarray(allowed), count) + 0.5) / choice_scale(space, name).cells


@dataclass(frozen=True)
class Box:
    """Per tuned parameter an interval [lo, hi] of [0, 1], or for choices the allowed indices."""

    intervals: dict[str, tuple[float, float]]
    categories: dict[str, tuple[int, ...]]

    @classmethod
    def full(cls, space: SearchSpace) -> Box:
        intervals: dict[str, tuple[float, float]] = {}
        categories: dict[str, tuple[int, ...]] = {}
        for name in space.tuned_names:
            scale = space.params[name]
            if isinstance(scale, Choice):
                categories[name] = tuple(range(len(scale.values)))
            else:
                intervals[name] = (0.0, 1.0)
        return cls(intervals, categories)

    @classmethod
    def of_branch(cls, space: SearchSpace, branch: Branch) -> Box:
        """The whole of one branch: its choices pinned to the branch's values."""
        box = cls.full(space)
        for name, value in branch.choices:
            if name in box.categories:
                box.categories[name] = (choice_scale(space, name).index(value),)
        return box

    def sample(self, rng: random.Random, space: SearchSpace) -> dict[str, float]:
        """Uniform in each interval; choices land on the centre of an allowed category's cell."""

        def draw(name: str, scale: Scale) -> float:
            if name in self.categories:
                return choice_point(space, name, self.categories[name], rng)
            lo, hi = self.intervals[name]
            return lo + rng.random() * (hi - lo)

        return space.walk(draw)

    def draw(self, gen: np.random.Generator, space: SearchSpace, count: int) -> np.ndarray:
        """``count`` of sample's points at once, one row each in ``space.tuned_names`` order
        (a flat space: every parameter active), from a numpy stream."""
        columns = []
        for name in space.tuned_names:
            if name in self.categories:
                columns.append(choice_points(gen, space, name, self.categories[name], count))
            else:
                lo, hi = self.intervals[name]
                columns.append(lo + gen.random(count) * (hi - lo))
        return np.column_stack(columns) if columns else np.empty((count, 0))

    def contains(self, unit: Mapping[str, float], space: SearchSpace) -> bool:
        for name, (lo, hi) in self.intervals.items():
            if name in unit and not lo <= unit[name] <= hi:
                return False
        for name, allowed in self.categories.items():
            if name in unit and choice_scale(space, name).category(unit[name]) not in allowed:
                return False
        return True

    def to_values(self, space: SearchSpace) -> dict[str, str]:
        """Human-readable ranges for tables and tags, e.g. '[0.00031, 0.0042]' or '{adam, sgd}'."""
        out: dict[str, str] = {}
        for name in space.tuned_names:
            if name not in self.categories and name not in self.intervals:
                continue  # a branch this box does not sample
            if name in self.categories:
                values = [choice_scale(space, name).values[i] for i in self.categories[name]]
                out[name] = "{" + ", ".join(format_number(v) for v in values) + "}"
            else:
                scale = space.params[name]
                lo, hi = (scale.format(scale.from_unit(u)) for u in self.intervals[name])
                out[name] = f"[{lo}, {hi}]"
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "intervals": {k: [lo, hi] for k, (lo, hi) in self.intervals.items()},
            "categories": {k: list(v) for k, v in self.categories.items()},
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Box:
        return cls(
            {k: (float(lo), float(hi)) for k, (lo, hi) in raw["intervals"].items()},
            {k: tuple(int(i) for i in v) for k, v in raw["categories"].items()},
        )


def edge_warnings(
    space: SearchSpace, best_unit: Mapping[str, float], tolerance: float = 0.05
) -> list[str]:
    """Warn where the best trial sits at the edge of a parameter's original range."""
    out = []
    for name in space.tuned_names:
        scale = space.params[name]
        if scale.axis == "category" or name not in best_unit:
            continue
        u = best_unit[name]
        value = scale.from_unit(u)
        # Discrete scales: the lowest value counts as the edge even if its cell is wide.
        if u >= 1 - tolerance or value == scale.from_unit(1.0):
            side = "upper"
        elif u <= tolerance or value == scale.from_unit(0.0):
            side = "lower"
        else:
            continue
        out.append(
            f"{name}={scale.format(value)} is at the {side} edge of its range "
            f"{scale.describe()}; widen the range"
        )
    return out
