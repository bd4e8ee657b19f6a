"""Conditional parameters: entries that exist only for some values of a choice.

The spec says so in two forms: a choice whose ``values:`` is a mapping (each category to the
sub-space that exists only with it), or ``when: {parent: value}`` on any entry. Both become
the same flat list of entries, each with the conditions under which it is active; this
module parses that list and checks it (unknown parents, values a parent cannot take,
cycles, entries that can never be active, names both conditional and unconditional).

Each entry gets a *coordinate name*, unique in the space: its plain name, or where one name
appears in several branches, the name and its branch (``lr/optimizer:sgd``: characters that
MLflow metric names allow, since unit coordinates are mirrored as metrics). Trials see the
plain name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from search_spaces.branches import Condition, enumerate_branches
from search_spaces.scales import Choice, Scale, ScaleError, Value, make_scale, same, short_repr

_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Parsed:
    """A space's entries, parents before children: scales, conditions and plain names."""

    params: dict[str, Scale]
    conditions: dict[str, tuple[Condition, ...]]
    plain: dict[str, str]  # coordinate name -> the name a trial sees, where they differ


@dataclass
class _Entry:
    path: str  # where the entry is in the spec, for errors: 'optimizer.values.sgd.lr'
    name: str
    scale: Scale
    branch: tuple[tuple[_Entry, Any], ...]  # (parent entry, category) from `values:` nesting
    when: Mapping[str, Any] | None
    coordinate: str = ""


def parse_space(raw: Mapping[str, Any]) -> Parsed:
    """The entries of a spec's ``space:`` mapping; ScaleError fields are paths below it."""
    entries: list[_Entry] = []
    _collect(raw, "", (), entries)
    _name_coordinates(entries)
    by_coordinate = {e.coordinate: e for e in entries}
    conditions = {e.coordinate: _conditions(e, entries) for e in entries}
    order = _parents_first(entries, conditions, by_coordinate)
    params = {c: by_coordinate[c].scale for c in order}
    plain = {c: by_coordinate[c].name for c in order if by_coordinate[c].name != c}
    parsed = Parsed(params, {c: conditions[c] for c in order if conditions[c]}, plain)
    _check_reachable(parsed, by_coordinate)
    return parsed


def _collect(
    raw: Any, prefix: str, branch: tuple[tuple[_Entry, Any], ...], out: list[_Entry]
) -> None:
    if not isinstance(raw, Mapping):
        raise ScaleError(
            prefix.rstrip("."), f"expected a mapping of parameter names, got {short_repr(raw)}"
        )
    for name, entry in raw.items():
        if not isinstance(name, str) or not name:
            raise ScaleError(
                prefix.rstrip("."),
                f"expected non-empty strings as parameter names, got {short_repr(name)}",
            )
        path = prefix + name
        when = None
        subspaces: Mapping[Any, Any] | None = None
        if isinstance(entry, Mapping):
            entry = dict(entry)
            when = entry.pop("when", None)
            if "when" in raw[name] and not _is_when(when):
                raise ScaleError(
                    f"{path}.when",
                    "expected a mapping of choice names to a value or a list of values, "
                    f"got {short_repr(when)}",
                )
            if entry.get("scale") == "choice" and isinstance(entry.get("values"), Mapping):
                subspaces = entry["values"]
                entry["values"] = list(subspaces)
        try:
            scale = make_scale(entry)
        except ScaleError as err:
            raise _within(err, path) from None
        own = _Entry(path, name, scale, branch, when)
        out.append(own)
        for category, sub in (subspaces or {}).items():
            if sub is None or sub == {}:
                continue
            _collect(sub, f"{path}.values.{category}.", (*branch, (own, category)), out)


def _within(err: ScaleError, path: str) -> ScaleError:
    return ScaleError(f"{path}.{err.field}" if err.field else path, err.message)


def _is_when(when: Any) -> bool:
    return (
        isinstance(when, Mapping)
        and len(when) > 0
        and all(isinstance(k, str) for k in when)
        and all(not isinstance(v, Mapping) and v != [] for v in when.values())
    )


def _label(branch: tuple[tuple[_Entry, Any], ...]) -> str:
    return "/".join(f"{parent.name}:{_value_text(parent, v)}" for parent, v in branch)


def _value_text(parent: _Entry, value: Any) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if _PLAIN_VALUE.fullmatch(text):
        return text
    assert isinstance(parent.scale, Choice)
    return str(parent.scale.index(value))  # a value MLflow cannot carry in a metric name


def _name_coordinates(entries: list[_Entry]) -> None:
    """Plain names where a name is used once; name/branch where several branches use it."""
    by_name: dict[str, list[_Entry]] = {}
    for e in entries:
        by_name.setdefault(e.name, []).append(e)
    for name, group in by_name.items():
        if len(group) == 1:
            group[0].coordinate = name
            continue
        unconditional = [e for e in group if not e.branch and e.when is None]
        if unconditional:
            other = next(e for e in group if e is not unconditional[0])
            raise ScaleError(
                other.path,
                f"expected a name not also used unconditionally (space.{unconditional[0].path}), "
                f"got {short_repr(name)} in both",
            )
        seen: dict[str, _Entry] = {}
        for e in group:
            coordinate = f"{name}/{_label(e.branch)}" if e.branch else name
            if coordinate in seen:
                raise ScaleError(
                    e.path,
                    f"expected each name once per branch, got {short_repr(name)} also at "
                    f"space.{seen[coordinate].path}",
                )
            seen[coordinate] = e
            e.coordinate = coordinate


def _conditions(entry: _Entry, entries: list[_Entry]) -> tuple[Condition, ...]:
    own = [Condition(parent.coordinate, (category,)) for parent, category in entry.branch]
    for parent_name, wanted in (entry.when or {}).items():
        field = f"{entry.path}.when.{parent_name}"
        parents = [e for e in entries if e.name == parent_name]
        if not parents or parents[0] is entry:
            raise ScaleError(
                field, f"expected the name of another parameter, got {short_repr(parent_name)}"
            )
        if len(parents) > 1:
            raise ScaleError(
                field,
                f"expected a parameter defined once, got {short_repr(parent_name)}, which "
                f"{len(parents)} branches define",
            )
        parent = parents[0]
        if not isinstance(parent.scale, Choice | Value):
            raise ScaleError(
                field,
                f"expected a choice or a fixed value to depend on, got {parent_name} "
                f"({parent.scale.describe()})",
            )
        own.append(Condition(parent.coordinate, _parent_values(parent, wanted, field)))
    return tuple(own)


def _parent_values(parent: _Entry, wanted: Any, field: str) -> tuple[Any, ...]:
    """The parent's own values that ``wanted`` names (YAML's 1 and true are kept apart)."""
    options = (
        parent.scale.values if isinstance(parent.scale, Choice) else (parent.scale.value,)  # type: ignore[attr-defined]
    )
    out = []
    for value in wanted if isinstance(wanted, list | tuple) else [wanted]:
        matches = [v for v in options if same(v, value)]
        if not matches:
            values = ", ".join(short_repr(v) for v in options)
            raise ScaleError(
                field,
                f"expected one of {values} (the values of {parent.name}), got {short_repr(value)}",
            )
        out.append(matches[0])
    return tuple(out)


def _parents_first(
    entries: list[_Entry],
    conditions: dict[str, tuple[Condition, ...]],
    by_coordinate: dict[str, _Entry],
) -> list[str]:
    """Coordinates in spec order, except that each comes after the parents it depends on."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(coordinate: str, trail: list[str]) -> None:
        if state.get(coordinate) == "done":
            return
        if state.get(coordinate) == "visiting":
            start = trail.index(coordinate)
            cycle = " -> ".join(by_coordinate[c].name for c in [*trail[start:], coordinate])
            entry = by_coordinate[trail[start]]
            raise ScaleError(
                f"{entry.path}.when", f"expected conditions without a cycle, got {cycle}"
            )
        state[coordinate] = "visiting"
        for condition in conditions[coordinate]:
            visit(condition.parent, [*trail, coordinate])
        state[coordinate] = "done"
        order.append(coordinate)

    for e in entries:
        visit(e.coordinate, [])
    return order


def _check_reachable(parsed: Parsed, by_coordinate: dict[str, _Entry]) -> None:
    """Every entry must be active in some branch: a condition that never holds is a typo."""
    active: set[str] = set()
    for branch in enumerate_branches(parsed.params, parsed.conditions, parsed.plain):
        active.update(branch.names)
        seen: dict[str, str] = {}
        for coordinate in branch.names:
            name = parsed.plain.get(coordinate, coordinate)
            if name in seen:  # a trial would get two values under one name
                first, second = by_coordinate[seen[name]], by_coordinate[coordinate]
                raise ScaleError(
                    second.path,
                    f"expected each name once in a branch, got {name} twice in branch "
                    f"{branch.label} (space.{first.path} and space.{second.path})",
                )
            seen[name] = coordinate
    for coordinate in parsed.params:
        if coordinate not in active:
            entry = by_coordinate[coordinate]
            raise ScaleError(
                f"{entry.path}.when" if entry.when is not None else entry.path,
                "expected conditions that some trial can meet, got ones that never hold together",
            )
