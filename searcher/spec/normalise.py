"""A spec with every default applied: what the store records, so a resumed search is the search
that ran even when a later version changes a default (a budget's stage split included)."""

from __future__ import annotations

from typing import Any

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
