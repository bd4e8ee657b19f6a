"""A search read back from the store in the shape the report draws: trials, stages, curves."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import pandas as pd
from mlflow.tracking import MlflowClient

from search_spaces.box import Box
from search_spaces.space import SearchSpace
from searcher.errors import NotFoundError
from searcher.results import Search, find_search, search_spec, trial_runs, trials_frame

TOP_CURVES = 5


@dataclass
class SearchView:
    """One search: its trials (with unit coordinates and run order) and its stage boxes."""

    search: Search
    space: SearchSpace
    trials: pd.DataFrame
    boxes: dict[int, Box]
    ranges: dict[int, dict[str, str]]
    warnings: list[str]
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.search.experiment} ({self.search.id[:8]})"

    @property
    def metric(self) -> str:
        return self.search.metric

    @property
    def scored(self) -> pd.DataFrame:
        """Trials with a finite score, best first."""
        return self.trials[self.trials[self.metric].map(_finite)]


def load_view(client: MlflowClient, experiment: str, search_id: str | None = None) -> SearchView:
    """Everything the report needs about one search, read through searcher.results."""
    search = find_search(client, experiment, search_id)
    space = SearchSpace.from_mapping(search_spec(client, search).get("space", {}))
    frame = trials_frame(client, search)
    if frame.empty:
        raise NotFoundError(f"search {search.id} of '{experiment}' has no trials yet")
    runs = {run.info.run_id: run for run in trial_runs(client, search)}
    frame["start_time"] = [runs[r].info.start_time or 0 for r in frame["run_id"]]
    for name in space.tuned_names:
        frame[f"unit/{name}"] = [
            runs[r].data.metrics.get(f"unit/{name}", math.nan) for r in frame["run_id"]
        ]
    order = frame.sort_values(["start_time", "trial"], kind="stable").index
    frame.loc[order, "order"] = range(1, len(frame) + 1)
    frame["order"] = frame["order"].astype(int)
    boxes, ranges = _stages(search)
    tags = search.run.data.tags
    warnings = [w for w in tags.get("searcher.warnings", "").splitlines() if w.strip()]
    view = SearchView(search, space, frame, boxes, ranges, warnings)
    view.curves = _curves(client, view)
    return view


def _stages(search: Search) -> tuple[dict[int, Box], dict[int, dict[str, str]]]:
    """Each stage's box (unit coordinates) and readable ranges from the parent run's tags."""
    boxes: dict[int, Box] = {}
    ranges: dict[int, dict[str, str]] = {}
    for tag, text in search.run.data.tags.items():
        parts = tag.split(".")
        if len(parts) == 4 and parts[:2] == ["searcher", "stage"] and parts[2].isdigit():
            stage = int(parts[2])
            if parts[3] == "box":
                boxes[stage] = Box.from_dict(json.loads(text))
            elif parts[3] == "ranges":
                ranges[stage] = json.loads(text)
    return dict(sorted(boxes.items())), dict(sorted(ranges.items()))


def _curves(client: MlflowClient, view: SearchView) -> dict[str, list[tuple[int, float]]]:
    """The metric by epoch of the top trials."""
    out = {}
    for _, row in view.scored.head(TOP_CURVES).iterrows():
        history = client.get_metric_history(row["run_id"], view.metric)
        out[str(row["trial"])] = sorted((m.step, m.value) for m in history)
    return out


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
