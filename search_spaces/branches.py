"""Which parameters a trial has: conditions on choices, and the branches they make.

A *branch* is one combination of values of the branching choices (those some entry depends
on) together with the parameters active under it. A flat space has one branch, with every
parameter in it. Coarse to fine stratifies and zooms per branch; the report and ``best``
name branches by their label, e.g. ``optimizer=sgd``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from search_spaces.scales import Choice, Scale, ScaleError, format_number, same

MAX_BRANCHES = 1000  # combinations of branching choices a space may have


@dataclass(frozen=True)
class Condition:
    """Active only while the parameter ``parent`` (a coordinate name) takes one of ``values``."""

    parent: str
    values: tuple[Any, ...]

    def holds(self, value: Any) -> bool:
        """Whether the parent's value is one of those the condition names."""
        return any(same(value, v) for v in self.values)


@dataclass(frozen=True)
class Branch:
    """One combination of branching choices' values, and the coordinates active under it."""

    choices: tuple[tuple[str, Any], ...]  # (coordinate, value) of each branching choice
    names: tuple[str, ...]  # active coordinates, tuned and fixed, in space order
    label: str  # 'optimizer=sgd', '' for the one branch of a flat space

    def matches(self, values: Mapping[str, Any]) -> bool:
        """Whether values (by coordinate) of the branching choices are this branch's."""
        return all(name in values and same(values[name], v) for name, v in self.choices)


def branching_parents(conditions: Mapping[str, tuple[Condition, ...]]) -> frozenset[str]:
    """The coordinates some entry depends on: the choices (or fixed values) that branch."""
    return frozenset(c.parent for conds in conditions.values() for c in conds)


def is_active(conditions: tuple[Condition, ...], values: Mapping[str, Any]) -> bool:
    """Whether every condition holds; ``values`` holds the active parents' values so far."""
    return all(c.parent in values and c.holds(values[c.parent]) for c in conditions)


def enumerate_branches(
    params: Mapping[str, Scale],
    conditions: Mapping[str, tuple[Condition, ...]],
    plain: Mapping[str, str],
) -> list[Branch]:
    """Every branch, in the order of the choices' values; params must list parents first."""
    parents = branching_parents(conditions)
    partial: list[tuple[dict[str, Any], list[str]]] = [({}, [])]
    for name, scale in params.items():
        grown: list[tuple[dict[str, Any], list[str]]] = []
        for values, names in partial:
            if not is_active(conditions.get(name, ()), values):
                grown.append((values, names))
                continue
            options = scale.grid(1) if not scale.tuned else _all_values(scale, name in parents)
            for option in options:
                new_values = {**values, name: option} if name in parents else values
                grown.append((new_values, [*names, name]))
        partial = grown
        if len(partial) > MAX_BRANCHES:
            raise ScaleError(
                name,
                f"expected choices that make at most {MAX_BRANCHES} branches together, got "
                f"{len(partial)} once {name} splits them",
            )
    out = []
    for values, names in partial:
        choices = tuple((n, values[n]) for n in params if n in values)
        label = ", ".join(f"{plain.get(n, n)}={format_number(v)}" for n, v in choices)
        out.append(Branch(choices, tuple(names), label))
    return out


def _all_values(scale: Scale, branching: bool) -> list[Any]:
    # Only a branching choice splits the branches; any other tuned entry is one placeholder.
    return list(scale.values) if branching and isinstance(scale, Choice) else [None]
