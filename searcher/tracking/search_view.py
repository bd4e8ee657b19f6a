"""Searches read back from the store in the shape the report draws (dashboards.report_data)."""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from dashboards import columns as C
from dashboards.columns import BRANCH, unit_column
from dashboards.report_data import SearchInfo, SearchView, WarmStartView
from search_spaces.box import Box
from search_spaces.prior import PRIOR_KEY
from search_spaces.space import SearchSpace
from searcher.errors import NotFoundError, SearcherError
from searcher.tracking import tags as T
from searcher.tracking.earlier import read_warm_start
from searcher.tracking.queries import (
    branch_label,
    find_search,
    ranked_rows,
    read_trials,
    table_of,
)
from searcher.tracking.readers import read_search

TOP_CURVES = 5


def load_views(
    client: MlflowClient, experiments: list[str], search_id: str | None = None
) -> list[SearchView]:
    """The latest search of each experiment (or the given search, for a single experiment)."""
    if search_id and len(experiments) > 1:
        raise SearcherError("--search picks one search; give a single experiment name with it")
    views = [load_view(client, name, search_id) for name in experiments]
    metrics = {v.metric for v in views}
    if len(metrics) > 1:
        raise SearcherError(f"cannot overlay searches on different metrics: {sorted(metrics)}")
    return views


def load_view(client: MlflowClient, experiment: str, search_id: str | None = None) -> SearchView:
    """Everything the report needs about one search: the trials table plus each trial's
    ``start_time``, ``order`` (by start) and ``unit.<name>`` coordinates."""
    search = find_search(client, experiment, search_id)
    recorded = read_search(client, search.run)
    space = recorded.space
    rows = ranked_rows(read_trials(client, search), search.mode)
    if not rows:
        raise NotFoundError(f"search {search.search_id} of '{experiment}' has no trials yet")
    frame = table_of(rows, search)
    frame["start_time"] = [row.start_time or 0 for row in rows]
    for name in space.tuned_names:
        frame[unit_column(name)] = [row.trial.unit.get(name, math.nan) for row in rows]
    if space.conditional:
        frame[BRANCH] = [branch_label(space, row.trial) for row in rows]
    order = frame.sort_values(["start_time", "trial"], kind="stable").index
    frame.loc[order, "order"] = range(1, len(frame) + 1)
    frame["order"] = frame["order"].astype(int)
    boxes, ranges, branches = stages(client, search.run)
    text = T.resolve_tag(client, search.run, T.WARNINGS)
    warnings = [w for w in text.splitlines() if w.strip()]
    info = SearchInfo(search.search_id, search.experiment, search.metric, search.mode)
    view = SearchView(info, space, frame, boxes, ranges, warnings, branches=branches)
    record = recorded.record
    if record is not None and len(record.stages) == 1 and len(record.rounds) > 1:
        view.rounds = record.rounds
        frame["stage"] = [round_of(row.trial.key, record.rounds) for row in rows]
    view.curves = _curves(client, view)
    view.warm_start = _warm_start(client, search.run, space)
    return view


def _warm_start(client: MlflowClient, run: Run, space: SearchSpace) -> WarmStartView | None:
    """The earlier search a warm start began from, its usable trials as a table."""
    record = read_warm_start(client, run)
    if record is None:
        return None
    rows = []
    for result in record.usable:
        rows.append(
            {
                C.TRIAL: result.key.removeprefix(PRIOR_KEY),
                C.SCORE: result.score,
                **{C.param_column(n): v for n, v in result.params.items()},
                **{C.unit_column(n): result.unit.get(n, math.nan) for n in space.tuned_names},
            }
        )
    reruns = {k: v.removeprefix(PRIOR_KEY) for k, v in record.reruns.items()}
    return WarmStartView(
        record.experiment, record.search_id, dict(record.unusable), pd.DataFrame(rows), reruns
    )


def round_of(key: str, rounds: tuple[int, ...]) -> int:
    """Which run of an extended one-stage search asked trial ``key`` ('1-012'), from 1."""
    index = int(key.rpartition("-")[2])
    return 1 + sum(index >= planned for planned in rounds[:-1])


def stages(
    client: MlflowClient, run: Run
) -> tuple[dict[int, Box], dict[int, dict[str, str]], dict[int, dict[str, Any]]]:
    """Each stage's box (unit coordinates), readable ranges and, in a conditional space,
    each branch's trials, box and ranges: from the parent run's tags."""
    parts: dict[str, dict[int, Any]] = {"box": {}, "ranges": {}, "branches": {}}
    for name in run.data.tags:
        parsed = T.parse_stage_tag(name)
        if parsed is None:
            continue
        stage, part = parsed
        parts[part][stage] = json.loads(T.resolve_tag(client, run, name))
    boxes = {stage: Box.from_dict(box) for stage, box in sorted(parts["box"].items())}
    ranges, branches = (dict(sorted(parts[p].items())) for p in ("ranges", "branches"))
    return boxes, ranges, branches


def _curves(client: MlflowClient, view: SearchView) -> dict[str, list[tuple[int, float]]]:
    """The metric by epoch of the top trials."""
    out = {}
    for _, row in view.scored.head(TOP_CURVES).iterrows():
        history = client.get_metric_history(row["run_id"], view.metric)
        out[str(row["trial"])] = sorted((m.step, m.value) for m in history)
    return out
