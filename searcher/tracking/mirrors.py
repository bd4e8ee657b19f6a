"""Numeric copies of params as MLflow metrics, so the UI sorts and plots them as numbers.

MLflow params are strings (sorting lr sorts text) and its charts have no log axis, so each
numeric value is mirrored as ``hp/<name>``, log-scale ones also as ``hp/log10_<name>`` (and
``hp/log10_1m_<name>`` = log10(1-β) for the one-minus-log scale), and every tuned param's unit
coordinate as ``unit/<name>``.
"""

from __future__ import annotations

import math
from typing import Any

from search_spaces.space import SearchSpace
from searcher.tracking import tags as T


def trial_coordinates(
    space: SearchSpace, params: dict[str, Any], unit: dict[str, float]
) -> list[str]:
    """The coordinates a trial had: from its unit coordinates, else (a trained config, a
    record without them) from its params; every one in a flat space."""
    if not space.conditional:
        return list(space.params)
    try:
        return space.active_names(unit if space.is_complete(unit) else space.to_unit(params))
    except (KeyError, ValueError):  # params of another space: mirror none rather than guess
        return []


def numeric_mirrors(
    space: SearchSpace, params: dict[str, Any], unit: dict[str, float]
) -> dict[str, float]:
    """The metric mirrors of one trial's params and unit coordinates."""
    out: dict[str, float] = {}
    for coordinate in trial_coordinates(space, params, unit):
        name, scale = space.name_of(coordinate), space.params[coordinate]
        value = params.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out[f"hp/{name}"] = float(value)
        if scale.axis == "log" and value > 0:
            out[f"hp/log10_{name}"] = math.log10(value)
        elif scale.axis == "one_minus_log" and value < 1:
            out[f"hp/log10_1m_{name}"] = math.log10(1 - value)
    for name, coordinate in unit.items():
        out[T.unit_metric(name)] = float(coordinate)
    return out
