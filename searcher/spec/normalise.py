"""A spec with every default applied: what the store records, so a resumed search is the search
that ran even when a later version changes a default (a budget's stage split included)."""

from __future__ import annotations

from typing import Any

from search_spaces.constraints import short_repr
from search_spaces.strategies import REGISTRY
from searcher.spec.load import Spec


def normalised(spec: Spec) -> dict[str, Any]:
    """The spec as a plain mapping with defaults filled in; validating it gives the same search.

    A coarse-to-fine budget (``search.trials``) is written as the stages it was split into, and
    the space entries are kept as written (their scales already fix every default).
    """
    data = spec.model.model_dump(mode="json", exclude_none=True)
    data["space"] = spec.raw.get("space", data.get("space", {}))
    if spec.epochs is not None:  # the default a model workload trains for, written out
        data["budget"] = {**data.get("budget", {}), "epochs": spec.epochs}
    search = data["search"]
    if REGISTRY[spec.model.search.strategy].sized_by == "stages":
        search.pop("trials", None)
        search["stages"] = [
            stage.model_dump(mode="json") for stage in spec.model.search.stage_list()
        ]
    else:
        search.pop("stages", None)
        search.setdefault("trials", spec.model.search.trial_count())
    return data


def stage_plan(spec: Spec, planned: int) -> tuple[int, ...]:
    """Trials per stage: the coarse-to-fine stages, else one stage of all ``planned``."""
    if REGISTRY[spec.model.search.strategy].sized_by == "stages":
        return tuple(stage.trials for stage in spec.model.search.stage_list())
    return (planned,)


def spec_changes(old: dict[str, Any], new: dict[str, Any], keys: tuple[str, ...] = ()) -> list[str]:
    """What differs between two (normalised) specs, leaf by leaf: ``space.lr.high: 0.1 -> 0.3``,
    ``space.width: added``; only under ``keys`` when given."""
    names = keys or tuple(dict.fromkeys([*old, *new]))
    changes: list[str] = []
    for name in names:
        _compare(old.get(name, _MISSING), new.get(name, _MISSING), name, changes)
    return changes


_MISSING = object()


def _compare(old: Any, new: Any, path: str, changes: list[str]) -> None:
    if old is _MISSING and new is _MISSING:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in dict.fromkeys([*old, *new]):
            _compare(old.get(key, _MISSING), new.get(key, _MISSING), f"{path}.{key}", changes)
    elif old is _MISSING:
        changes.append(f"{path}: added")
    elif new is _MISSING:
        changes.append(f"{path}: removed")
    elif old != new:
        changes.append(f"{path}: {short_repr(old)} -> {short_repr(new)}")
