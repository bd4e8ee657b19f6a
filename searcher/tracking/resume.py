"""What `searcher resume` reads from the store: the search to continue, its recorded spec, the
trials it finished (told again to the strategy) and the runs cut short (run again).

Only the store is read, never Ray's local state, so a search can be resumed on another machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlflow.entities import Run, RunTag
from mlflow.tracking import MlflowClient

from search_spaces.space import SearchSpace
from search_spaces.trial import TrialResult
from searcher.errors import NotFoundError, SearcherError
from searcher.tracking import tags as T
from searcher.tracking.claim import claim_search
from searcher.tracking.earlier import read_warm_start
from searcher.tracking.orphans import owner_alive, owner_tags, retire_runs
from searcher.tracking.queries import Search, find_search, trial_runs
from searcher.tracking.readers import TrialRow, read_trial
from searcher.tracking.records import WarmStartRecord
from searcher.tracking.runs import log_long_tags

DONE = ("FINISHED", "FAILED")  # a trial with such a run is never run again
UNFINISHED = ("KILLED", "FAILED")  # a search that ended so can be resumed


@dataclass
class ResumePlan:
    """A stopped search and what it already has."""

    search: Search
    kept: list[TrialResult]  # finished or failed trials, by key
    statuses: dict[str, str]  # their run statuses
    run_ids: dict[str, str]  # their run ids
    cut_short: list[Run] = field(default_factory=list)  # runs to mark KILLED and run again
    resumes: int = 0  # how many times the search was resumed before
    force: bool = False  # resume even if another host's process is recorded as running it
    new_record: str | None = None  # `searcher extend`: the search's record with its new plan
    warm_start: WarmStartRecord | None = None  # the earlier trials a warm start began from

    @property
    def search_id(self) -> str:
        return self.search.search_id


def find_resumable(
    client: MlflowClient, experiment: str, search_id: str | None = None, force: bool = False
) -> Search:
    """The search to continue: the given one, else the experiment's latest.

    When the latest finished, an older unfinished one is named, not resumed: it may be another
    spec's that shared the name, and continuing it unasked would surprise. A search whose process
    is alive is refused; so is one recorded as running on another host (its process cannot be
    checked from here) unless ``force``.
    """
    search = find_search(client, experiment, search_id)
    if search_id is None and ended_for_good(search.run):
        query = f"{T.SEARCH_QUERY} and attributes.status != 'FINISHED'"
        exp = search.run.info.experiment_id
        runs = client.search_runs([exp], query, order_by=["attributes.start_time DESC"])
        latest = (
            f"experiment '{experiment}' has no unfinished search; its latest, "
            f"{search.search_id}, finished"
        )
        if not runs:
            raise NotFoundError(latest)
        older = runs[0].info
        raise NotFoundError(
            f"{latest}; an older one, {older.run_id}, ended {older.status}: "
            f"`searcher resume {experiment} --search {older.run_id}` continues that one"
        )
    status, tags = search.run.info.status, search.run.data.tags
    if ended_for_good(search.run):
        raise NotFoundError(f"search {search.search_id} finished; there is nothing to resume")
    if status == "RUNNING":
        alive = owner_alive(tags)
        where = f"pid {tags.get(T.PID, '?')} on {tags.get(T.HOST, '?')}"
        if alive:
            raise SearcherError(
                f"search {search.search_id} is still running ({where}); stop it first, or wait"
            )
        if alive is None and not force:
            raise SearcherError(
                f"search {search.search_id} is marked RUNNING by {where}, which cannot be checked "
                "from here; resume it there, or pass --force if that process is gone"
            )
    return search


def resume_plan(client: MlflowClient, search: Search, space: SearchSpace) -> ResumePlan:
    """The trials a search keeps (one run per key: FINISHED or FAILED) and the runs to redo."""
    by_key: dict[str, list[TrialRow]] = {}
    runs = {run.info.run_id: run for run in trial_runs(client, search)}
    for run in runs.values():
        row = read_trial(client, run, search.metric)
        by_key.setdefault(row.trial.key, []).append(row)
    plan = ResumePlan(
        search,
        [],
        {},
        {},
        resumes=_count(search.run.data.tags.get(T.RESUMES)),
        warm_start=read_warm_start(client, search.run),
    )
    for key in sorted(by_key):
        rows = sorted(by_key[key], key=lambda r: r.start_time or 0)
        done = [r for r in rows if r.status in DONE]
        if done:
            plan.kept.append(recorded_result(done[0], space, search.metric))
            plan.statuses[key] = done[0].status
            plan.run_ids[key] = done[0].run_id
        else:
            plan.cut_short += [runs[r.run_id] for r in rows if r.status == "RUNNING"]
    return plan


def recorded_result(row: TrialRow, space: SearchSpace, metric: str) -> TrialResult:
    """A trial as the strategy was told it: its unit coordinates, params, score and error.

    Without a unit coordinate for every active tuned parameter (a 0.1.0 run whose mirrors were lost)
    the unit is left empty: the strategy then keeps its own point for the key.
    """
    trial = row.trial
    unit = {name: trial.unit[name] for name in space.tuned_names if name in trial.unit}
    params = trial.params
    if not space.is_complete(unit):
        unit = {}
    elif not row.recorded:  # a 0.1.0 run: its params were text, its unit coordinates exact
        params = space.to_values(unit)
    if row.status == "FINISHED":  # a note on a scored run (stopped early) is not a failure
        error = None if row.scored else row.error or f"no {metric} was recorded"
    else:
        error = row.error or "failed"
    return TrialResult(trial.key, trial.stage, unit, params, row.score, error)


def claim_for(client: MlflowClient, plan: ResumePlan) -> None:
    """Claim the planned search for this process (see tracking.claim), against the owner the
    plan was read with; raises SearcherError, having written nothing, if another has it."""
    seen = plan.search.run.data.tags.get(T.OWNER)
    claim_search(client, plan.search_id, seen=seen, force=plan.force)


def reopen_search_run(client: MlflowClient, plan: ResumePlan) -> None:
    """Mark the cut-short trial runs KILLED and set the search's run RUNNING under this process."""
    retire_runs(
        client, plan.cut_short, "cut short when the search stopped; run again by searcher resume"
    )
    tags = {**owner_tags(), T.RESUMES: str(plan.resumes + 1)}
    client.log_batch(plan.search_id, tags=[RunTag(k, v) for k, v in tags.items()])
    client.update_run(plan.search_id, status="RUNNING")
    if T.ENDED_BY in plan.search.run.data.tags:  # it goes on: what ended it no longer holds
        client.delete_tag(plan.search_id, T.ENDED_BY)
    if plan.new_record is not None:  # once claimed and RUNNING: a crash from here is resumed
        log_long_tags(client, plan.search_id, {T.SEARCH_RECORD: plan.new_record})


def ended_for_good(run: Run) -> bool:
    """FINISHED with its whole plan: a search its time budget ended can still be resumed."""
    return run.info.status == "FINISHED" and T.ENDED_BY not in run.data.tags


def latest_search(client: MlflowClient, experiment_id: str) -> Run | None:
    """The experiment's latest search, however it ended."""
    runs = client.search_runs(
        [experiment_id], T.SEARCH_QUERY, order_by=["attributes.start_time DESC"], max_results=1
    )
    return runs[0] if runs else None


def _count(text: Any) -> int:
    return int(text) if isinstance(text, str) and text.isdigit() else 0
