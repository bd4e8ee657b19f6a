"""Reading runs back: a trial run's record and outcome, a search run's spec.

A run with a record (``searcher.trial``, ``searcher.search``; records.py) is read from it alone.
A run without one was written by searcher 0.1.0: its unit coordinates come from the ``unit/``
metric mirrors, its params from the MLflow params (text, parsed back), its spec from the raw
YAML it recorded. Every reader of a store (resume, report, trials, best, export) goes through
here, so the mirrors stay what they are for: the MLflow UI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from search_spaces.space import SearchSpace
from search_spaces.trial import Trial
from searcher.errors import NotFoundError
from searcher.spec.yaml_io import load_yaml
from searcher.tracking import tags as T
from searcher.tracking.records import SearchRecord, read_trial_record

UNIT_MIRROR = T.unit_metric("")


@dataclass(frozen=True)
class TrialRow:
    """One trial run as read back: what ran, how it ended, where and when."""

    trial: Trial  # key, stage, unit coordinates, params as they ran
    status: str  # the run's status: FINISHED, FAILED, KILLED or RUNNING
    score: float | None  # the best epoch value of the search's metric; None if it has none
    error: str
    run_id: str
    start_time: int | None  # ms since the epoch, MLflow's
    end_time: int | None
    recorded: bool  # read from its record (False: a 0.1.0 run, read from mirrors and params)
    given: bool = False  # it ran one of the spec's start_with configurations
    rerun_of: str = ""  # the earlier search's trial a warm start ran again

    @property
    def scored(self) -> bool:
        """Whether it has a finite score, the only kind that may rank (NaN/inf: diverged)."""
        return self.score is not None and math.isfinite(self.score)


def read_trial(client: MlflowClient, run: Run, metric: str) -> TrialRow:
    """A trial run read from its record, else as searcher 0.1.0 wrote it."""
    text = T.resolve_tag(client, run, T.TRIAL_RECORD)
    trial = read_trial_record(text) if text else _legacy_trial(run)
    tags, info = run.data.tags, run.info
    score = run.data.metrics.get(T.best_metric(metric))
    return TrialRow(
        trial,
        info.status,
        score,
        tags.get(T.ERROR, ""),
        info.run_id,
        info.start_time,
        info.end_time,
        recorded=bool(text),
        given=tags.get(T.GIVEN) == "true",
        rerun_of=tags.get(T.RERUN_OF, ""),
    )


def _legacy_trial(run: Run) -> Trial:
    tags, metrics = run.data.tags, run.data.metrics
    unit = {n.removeprefix(UNIT_MIRROR): v for n, v in metrics.items() if n.startswith(UNIT_MIRROR)}
    params = {name: parse_param(value) for name, value in sorted(run.data.params.items())}
    return Trial(tags.get(T.TRIAL_KEY, run.info.run_name), int(tags.get(T.STAGE, 1)), unit, params)


def parse_param(text: str) -> Any:
    """A 0.1.0 param back to what it was logged from: that version wrote ``str(value)``, so
    this is str's inverse for the types a space holds (YAML would read "off" as false)."""
    literals = {"True": True, "False": False, "None": None}
    if text in literals:
        return literals[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


@dataclass(frozen=True)
class RecordedSearch:
    """The spec a search ran with: normalised from its record, else (0.1.0) as written."""

    spec: dict[str, Any]
    record: SearchRecord | None  # None: a 0.1.0 search, ``spec`` is its raw YAML

    @property
    def space(self) -> SearchSpace:
        return SearchSpace.from_mapping(self.spec.get("space", {}))


def read_search(client: MlflowClient, run: Run) -> RecordedSearch:
    """A search run's record, else the raw spec searcher 0.1.0 recorded."""
    text = T.resolve_tag(client, run, T.SEARCH_RECORD)
    if text:
        record = SearchRecord.from_json(text)
        return RecordedSearch(dict(record.spec), record)
    return RecordedSearch(written_spec(client, run), None)


def written_spec(client: MlflowClient, run: Run) -> dict[str, Any]:
    """The spec as its file was written (every version records it): the spec artifact, else the
    tag (for stores whose artifacts live on another machine; a spec too long for a tag is then
    out of reach)."""
    run_id, text = run.info.run_id, ""
    for read in (
        lambda: Path(client.download_artifacts(run_id, "spec.yaml")).read_text(),
        lambda: T.resolve_tag(client, run, T.SPEC),
    ):
        try:
            text = read()
            break
        except Exception:  # an artifact store this machine cannot reach
            continue
    spec = load_yaml(text) if text else None
    if not isinstance(spec, dict):
        raise NotFoundError(f"search {run_id} has no recorded spec")
    return spec
