"""Reading searches back from the store: trial tables, the best trial, exported specs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from mlflow.entities import Run, ViewType
from mlflow.tracking import MlflowClient

from searcher.errors import NotFoundError
from searcher.spec.yaml_io import dump_yaml, load_yaml
from searcher.tracking import tags as T
from trials.registry import WORKLOADS

FIXED_COLUMNS = ["trial", "stage", "status"]


@dataclass(frozen=True)
class Search:
    """A search's parent run and what it was asked to optimise."""

    run: Run
    experiment: str
    metric: str
    mode: str

    @property
    def id(self) -> str:
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
    query = f"tags.`{T.PARENT}` = '{search.id}'"
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


def parse_param(text: str) -> Any:
    """A param string back to the number, bool or string it was logged from."""
    try:
        value = load_yaml(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (int, float, bool, str)) or value is None else text


def trials_frame(client: MlflowClient, search: Search) -> pd.DataFrame:
    """One row per trial: key, stage, status, the score, params, epochs, error, run id.

    Sorted best first by the search's metric; trials without a score go last.
    """
    score_col = search.metric
    rows = []
    for run in trial_runs(client, search):
        tags, metrics = run.data.tags, run.data.metrics
        row: dict[str, Any] = {
            "trial": tags.get(T.TRIAL_KEY, run.info.run_name),
            "stage": int(tags.get(T.STAGE, 0)),
            "status": run.info.status,
            score_col: metrics.get(T.best_metric(search.metric), math.nan),
        }
        row.update({name: parse_param(value) for name, value in sorted(run.data.params.items())})
        row["error"] = tags.get(T.ERROR, "")
        row["run_id"] = run.info.run_id
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=[*FIXED_COLUMNS, score_col, "error", "run_id"])
    ascending = search.mode == "min"
    frame = frame.sort_values(
        [score_col, "trial"], ascending=[ascending, True], na_position="last", kind="stable"
    )
    return frame.reset_index(drop=True)


def best_row(frame: pd.DataFrame, metric: str) -> pd.Series:
    """The best trial with a score (the table is sorted best first)."""
    scored = frame[frame[metric].notna()] if metric in frame else frame.iloc[0:0]
    if scored.empty:
        raise NotFoundError("no trial of this search finished with a score")
    return scored.iloc[0]


def search_spec(client: MlflowClient, search: Search) -> dict[str, Any]:
    """The spec the search ran with: its artifact, else its tag (for stores whose artifacts
    live on another machine; a spec too long for a tag is then out of reach)."""
    text = ""
    for read in (
        lambda: Path(client.download_artifacts(search.id, "spec.yaml")).read_text(),
        lambda: T.resolve_tag(client, search.run, T.SPEC),
    ):
        try:
            text = read()
            break
        except Exception:  # an artifact store this machine cannot reach
            continue
    spec = load_yaml(text) if text else None
    if not isinstance(spec, dict):
        raise NotFoundError(f"search {search.id} has no recorded spec")
    return spec


def best_spec(client: MlflowClient, search: Search) -> tuple[dict[str, Any], pd.Series]:
    """The search's spec with every space entry fixed to the best trial's value."""
    spec = search_spec(client, search)
    best = best_row(trials_frame(client, search), search.metric)
    space = {}
    for name in spec.get("space", {}):
        value = best.get(name)
        if isinstance(value, float) and value.is_integer() and _was_int(spec["space"][name]):
            value = int(value)
        space[name] = {"scale": "value", "value": _plain(value)}
    spec["space"] = space
    spec["name"] = f"{spec['name']}_best"
    seed = spec.get("search", {}).get("seed", 0)
    spec["search"] = {"strategy": "grid", "seed": seed}
    spec.pop("scheduler", None)
    code_dir = search.run.data.tags.get(T.CODE_DIR)
    if code_dir and spec.get("workload") not in WORKLOADS:
        # The user's module or command stays where the search found it, wherever this is written.
        spec["code_dir"] = code_dir
    return spec, best


def export_text(client: MlflowClient, search: Search) -> str:
    """A runnable spec with the best values fixed, headed by where they came from."""
    spec, best = best_spec(client, search)
    score = best[search.metric]
    header = (
        f"# Best trial {best['trial']} of search {search.id} (experiment {search.experiment}): "
        f"{search.metric}={score:.6g}\n"
        f"# MLflow run id: {best['run_id']}\n"
        f"# Run it again, for longer: searcher run THIS_FILE --set budget.epochs=20\n"
    )
    return header + dump_yaml(spec)


def _was_int(entry: Any) -> bool:
    return isinstance(entry, dict) and entry.get("scale") in ("int", "int_log", "pow2")


def _plain(value: Any) -> Any:
    """numpy/pandas scalars to plain Python for YAML."""
    return value.item() if hasattr(value, "item") else value
