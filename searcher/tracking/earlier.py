"""Reading an earlier search for a warm start (``search.warm_start``), and the record of one.

Only the trials are read: one per key (the run that finished, if one did), with its params as
they ran and its score; search_spaces.prior decides which of them the new space can use.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from search_spaces.prior import EarlierTrial
from searcher.tracking import tags as T
from searcher.tracking.queries import find_search, read_trials
from searcher.tracking.readers import TrialRow
from searcher.tracking.records import WarmStartRecord
from searcher.tracking.store import open_existing_store


@dataclass(frozen=True)
class EarlierSearch:
    """An earlier search's trials and what they were scored on."""

    experiment: str
    search_id: str
    metric: str
    mode: str
    trials: list[EarlierTrial]


def read_earlier(uri: str, experiment: str, search_id: str | None) -> EarlierSearch:
    """The trials of the latest (or the given) search of ``experiment`` in the store ``uri``;
    a missing store, experiment or search is a NotFoundError (one line, exit 2)."""
    client = open_existing_store(uri, read_only=True)
    search = find_search(client, experiment, search_id)
    by_key: dict[str, TrialRow] = {}
    for row in sorted(read_trials(client, search), key=lambda r: r.start_time or 0):
        kept = by_key.get(row.trial.key)
        if kept is None or not (kept.status == "FINISHED" and kept.scored):
            by_key[row.trial.key] = row
    trials = [
        EarlierTrial(
            key,
            dict(row.trial.params),
            row.score if row.status == "FINISHED" and row.scored else None,
        )
        for key, row in sorted(by_key.items())
    ]
    return EarlierSearch(experiment, search.search_id, search.metric, search.mode, trials)


def warm_start_tags(record: WarmStartRecord) -> dict[str, str]:
    """The search run's lineage: the record resume reads, and two tags for people."""
    return {
        T.WARM_START: record.to_json(),
        T.WARM_FROM: f"{record.experiment}/{record.search_id} in {record.uri}",
        T.WARM_USED: str(len(record.usable)),
    }


def read_warm_start(client: MlflowClient, run: Run) -> WarmStartRecord | None:
    """The warm start a search's run recorded, None if it started cold."""
    text = T.resolve_tag(client, run, T.WARM_START)
    return WarmStartRecord.from_json(text) if text else None
