"""`searcher extend`: more trials for a finished search, under the same parent run.

An extension is a resume with a longer plan. The strategies are deterministic in the results
they were told, so replaying the finished trials and asking on gives what a search planned
that long from the start would have asked next: coarse_to_fine more zoom stages from every
trial the search has, the others more of the same. Keys stay unique (the new ones come after
the old), the record on the search's run takes the new plan as soon as the search is claimed,
so a crash during the extension is one `searcher resume` completes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

from search_spaces.constraints import MAX_STAGES
from search_spaces.strategies import REGISTRY
from search_spaces.strategies.coarse_to_fine import zoom_sizes
from searcher.errors import NotFoundError, SpecError
from searcher.summary import SearchSummary


def extend_search(
    name: str,
    *,
    trials: int,
    search_id: str | None = None,
    time_budget: str | None = None,
    tracking_uri: str | None = None,
    address: str | None = None,
    storage_path: str | None = None,
    train: Callable[..., Any] | None = None,
    out: TextIO | None = None,
) -> SearchSummary:
    """Run ``trials`` more trials of the latest (or the given) finished search of ``name``;
    ``train``: the workload function again, for a search started with ``run(train=...)``."""
    from searcher.controller import run_search
    from searcher.resuming import where_it_ran
    from searcher.spec import validate_spec
    from searcher.spec.load import experiment_of
    from searcher.spec.normalise import normalised, stage_plan
    from searcher.tracking import tags as T
    from searcher.tracking.queries import find_search
    from searcher.tracking.readers import read_search
    from searcher.tracking.resume import resume_plan
    from searcher.tracking.store import open_existing_store
    from searcher.tracking.uri import resolve_tracking_uri

    if trials < 1:
        raise SpecError("--trials", "", f"expected an integer >= 1, got {trials}")
    experiment, spec_uri = experiment_of(name)
    uri = resolve_tracking_uri(tracking_uri, spec_uri)
    client = open_existing_store(uri)
    search = find_search(client, experiment, search_id)
    status = search.run.info.status
    if status != "FINISHED":
        raise NotFoundError(
            f"search {search.search_id} ended {status}, not FINISHED: `searcher resume "
            f"{experiment}` completes it before it can be extended"
        )
    ended_by = search.run.data.tags.get(T.ENDED_BY)
    if ended_by:  # its plan has trials left: they come first, so N more would not be N
        raise NotFoundError(
            f"search {search.search_id} ended early ({ended_by}): `searcher resume "
            f"{experiment} --search {search.search_id} --set search.time_budget=...` runs the "
            "rest of its plan first"
        )
    recorded = read_search(client, search.run)
    if recorded.record is None:
        raise NotFoundError(
            f"search {search.search_id} was written by searcher 0.1.0, whose record has no "
            "stage plan to extend"
        )
    source = f"search {search.search_id}"
    raw = longer(recorded.spec, trials, recorded.record.planned_trials, source)
    raw["search"].pop("time_budget", None)  # the first run's budget is not the extension's
    if time_budget is not None:
        raw["search"]["time_budget"] = time_budget
    spec = validate_spec(where_it_ran(raw, search.run.data.tags, train), source, train=train)
    planned = recorded.record.planned_trials + trials
    plan = resume_plan(client, search, spec.space)
    record = recorded.record.extended(normalised(spec), stage_plan(spec, planned), planned)
    plan.new_record = record.to_json()
    return run_search(
        spec, tracking_uri=uri, address=address, storage_path=storage_path, out=out, plan=plan
    )


def longer(spec: dict[str, Any], more: int, planned: int, source: str) -> dict[str, Any]:
    """The recorded spec with ``more`` trials planned after its ``planned`` ones:
    coarse_to_fine gets zoom stages of about ZOOM_STAGE_TRIALS (zooming as its last stage
    did), the others a larger count."""
    search = dict(spec.get("search", {}))
    strategy = search.get("strategy", "coarse_to_fine")
    sized_by = REGISTRY[strategy].sized_by
    if sized_by == "grid_points":
        raise SpecError(
            source,
            "search.strategy",
            "expected a strategy that can ask for more trials than its grid, got grid",
        )
    if sized_by == "stages":
        stages = list(search.get("stages") or [])
        room = MAX_STAGES - len(stages)
        if room < 1:
            raise SpecError(
                source,
                "--trials",
                f"expected a search with fewer than {MAX_STAGES} stages, got one with "
                f"{len(stages)}: start a new search from its best (searcher export)",
            )
        last = stages[-1] if stages else {}
        zoom = {k: last[k] for k in ("keep_top", "pad") if k in last}  # as it zoomed last
        search["stages"] = [*stages, *({"trials": n, **zoom} for n in zoom_sizes(more, room))]
        search.pop("trials", None)
    else:
        search["trials"] = planned + more
    return {**spec, "search": search}
