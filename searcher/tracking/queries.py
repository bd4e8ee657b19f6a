"""Reading searches back from the store: trial tables, the best trial, exported specs.

Runs are read through readers.py; the table's columns are dashboards.columns'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.entities import Run, ViewType
from mlflow.tracking import MlflowClient

from dashboards import columns as C
from search_spaces.space import SearchSpace
from search_spaces.trial import Trial
from searcher.errors import NotFoundError
from searcher.spec.yaml_io import dump_yaml
from searcher.tracking import tags as T
from searcher.tracking.readers import TrialRow, read_search, read_trial
from trials.registry import WORKLOADS


@dataclass(frozen=True)
class Search:
    """A search's parent run and what it was asked to optimise."""

    run: Run
    experiment: str
    metric: str
    mode: str

    @property
    def search_id(self) -> str:
        return self.run.info.run_id


def find_search(client: MlflowClient, experiment: str, search_id: str | None = None) -> Search:
    """The latest search of an experiment, or the one with the given parent run id."""
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        names = sorted(e.name for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY))
        listed = ", ".join(n for n in names if n != "Default") or "none yet"
        raise NotFoundError(f"no experiment named '{experiment}' in the store; found: {listed}")
    query = T.SEARCH_QUERY
    if search_id:
        query += f" and attributes.run_id = '{search_id}'"
    runs = client.search_runs(
        [exp.experiment_id], query, order_by=["attributes.start_time DESC"], max_results=1
    )
    if not runs:
        what = f"search {search_id}" if search_id else "search"
        raise NotFoundError(f"experiment '{experiment}' has no {what}")
    run = runs[0]
    tags = run.data.tags
    return Search(run, experiment, tags.get(T.METRIC, ""), tags.get(T.MODE, "max"))


def trial_runs(client: MlflowClient, search: Search) -> list[Run]:
    """All child runs of a search (every page)."""
    query = f"tags.`{T.PARENT}` = '{search.search_id}'"
    runs: list[Run] = []
    token = None
    while True:
        page = client.search_runs(
            [search.run.info.experiment_id], query, max_results=1000, page_token=token
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def read_trials(client: MlflowClient, search: Search) -> list[TrialRow]:
    """Every trial run of a search, read back (records, or a 0.1.0 store's mirrors)."""
    return [read_trial(client, run, search.metric) for run in trial_runs(client, search)]


def ranked_rows(rows: list[TrialRow], mode: str) -> list[TrialRow]:
    """Best first by score; trials without a finite score last; ties by key."""
    sign = -1.0 if mode == "max" else 1.0
    return sorted(
        rows, key=lambda r: (not r.scored, sign * r.score if r.scored else 0.0, r.trial.key)
    )


def best_of(rows: list[TrialRow], mode: str) -> TrialRow:
    """The best trial with a finite score."""
    scored = [r for r in ranked_rows(rows, mode) if r.scored]
    if not scored:
        raise NotFoundError("no trial of this search finished with a score")
    return scored[0]


def table_of(rows: list[TrialRow], search: Search) -> pd.DataFrame:
    """The rows as a table, in the given order: searcher's columns, then ``params.<name>``
    (dashboards.columns), ``given`` where some trials ran start_with configurations and
    ``rerun_of`` where a warm start ran earlier trials again; the metric's name and mode in
    ``frame.attrs``."""
    records = []
    has_given = any(r.given for r in rows)
    has_reruns = any(r.rerun_of for r in rows)
    for row in rows:
        params = sorted(row.trial.params.items())
        records.append(
            {
                C.TRIAL: row.trial.key,
                C.STAGE: row.trial.stage,
                C.STATUS: row.status,
                C.SCORE: math.nan if row.score is None else row.score,
                **{C.param_column(name): value for name, value in params},
                C.ERROR: row.error,
                C.RUN_ID: row.run_id,
                **({C.GIVEN: row.given} if has_given else {}),
                **({C.RERUN_OF: row.rerun_of} if has_reruns else {}),
            }
        )
    frame = pd.DataFrame(records) if records else pd.DataFrame(columns=list(C.FIXED_COLUMNS))
    frame.attrs[C.METRIC_ATTR] = search.metric
    frame.attrs[C.MODE_ATTR] = search.mode
    return frame


def trials_frame(client: MlflowClient, search: Search) -> pd.DataFrame:
    """One row per trial, best first (trials without a score last); see ``table_of``."""
    return table_of(ranked_rows(read_trials(client, search), search.mode), search)


def best_row(frame: pd.DataFrame) -> pd.Series:
    """The best trial with a score (the table is sorted best first)."""
    scored = frame[frame[C.SCORE].map(_finite)] if C.SCORE in frame else frame.iloc[0:0]
    if scored.empty:
        raise NotFoundError("no trial of this search finished with a score")
    return scored.iloc[0]


def best_spec(client: MlflowClient, search: Search) -> tuple[dict[str, Any], TrialRow]:
    """The search's spec with every space entry fixed to the best trial's value as it ran."""
    recorded = read_search(client, search.run)
    spec = recorded.spec
    best = best_of(read_trials(client, search), search.mode)
    # A conditional search exports its best branch only: every value fixed, no conditions.
    entries = (
        {n: None for n in best.trial.params}
        if recorded.space.conditional
        else spec.get("space", {})
    )
    space = {}
    for name, entry in entries.items():
        if name not in best.trial.params:
            space[name] = entry  # not a param of the trial (never expected): kept as it was
            continue
        value = best.trial.params[name]
        if not best.recorded and isinstance(value, float) and value.is_integer():
            value = int(value) if _was_int(entry) else value  # 0.1.0 params were text
        space[name] = {"scale": "value", "value": value}
    spec["space"] = space
    spec["name"] = f"{spec['name']}_best"
    seed = spec.get("search", {}).get("seed", 0)
    spec["search"] = {"strategy": "grid", "seed": seed}
    spec.pop("scheduler", None)
    code_dir = search.run.data.tags.get(T.CODE_DIR)
    workload = spec.get("workload")
    builtin = isinstance(workload, str) and workload in WORKLOADS  # else a module or a command
    if code_dir and Path(code_dir).is_dir() and not builtin:
        # The user's module or command stays where the search found it, wherever this is
        # written (a folder gone since, or on another machine: found from here, as resume does).
        spec["code_dir"] = code_dir
    return spec, best


def branch_label(space: SearchSpace, trial: Trial) -> str:
    """The branch a trial ran in ('optimizer=sgd'); '' in a flat space."""
    if not space.conditional:
        return ""
    try:
        unit = trial.unit if space.is_complete(trial.unit) else space.to_unit(trial.params)
        return space.branch_of(unit).label
    except (KeyError, ValueError):  # a trial that ran at params of no branch of this space
        return ""


def export_text(client: MlflowClient, search: Search) -> str:
    """A runnable spec with the best values fixed, headed by where they came from."""
    spec, best = best_spec(client, search)
    header = (
        f"# Best trial {best.trial.key} of search {search.search_id} "
        f"(experiment {search.experiment}): {search.metric}={best.score:.6g}\n"
        f"# MLflow run id: {best.run_id}\n"
        f"# Run it again, for longer: searcher run THIS_FILE --set budget.epochs=20\n"
    )
    return header + dump_yaml(spec)


def _was_int(entry: Any) -> bool:
    return isinstance(entry, dict) and entry.get("scale") in ("int", "int_log", "pow2")


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
