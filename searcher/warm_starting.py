"""Warm starts (``search.warm_start``, ``searcher run --from``): a search that begins from an
earlier one's trials.

The earlier search is read once, before anything is written: its usable trials (those the new
space can place, search_spaces.prior) go to the strategy before it suggests anything, and to
the new search's run as a record (tracking.records.WarmStartRecord) that resume and extend read
instead of the earlier store. A coarse_to_fine budget given as trials gets a coarse stage
shorter by the usable trials (stages_for); the best few earlier trials run again first, and
their old and new scores are set side by side when the search ends.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, TextIO

from search_spaces.prior import PriorTrials, drift, usable_trials
from search_spaces.strategies import REGISTRY, stages_for
from searcher.errors import NotFoundError, SpecError
from searcher.spec import Spec
from searcher.spec.load import experiment_of

if TYPE_CHECKING:
    from search_spaces.prior import Drift
    from search_spaces.strategies import Strategy
    from search_spaces.trial import TrialResult
    from searcher.tracking.records import WarmStartRecord

FIELD = "search.warm_start"


def read_warm_start(spec: Spec, uri: str, out: TextIO) -> tuple[Spec, WarmStartRecord]:
    """The earlier search's usable trials as a record, and the spec with the plan they allow:
    for coarse_to_fine sized by trials, a coarse stage that many trials shorter."""
    from searcher.tracking.earlier import read_earlier
    from searcher.tracking.records import WarmStartRecord
    from searcher.tracking.uri import display_uri, normalise_uri

    warm = spec.model.search.warm_start
    assert warm is not None
    experiment, spec_uri = experiment_of(warm.from_)
    source_uri = normalise_uri(warm.uri or spec_uri or uri)
    try:
        earlier = read_earlier(source_uri, experiment, warm.search)
    except NotFoundError as exc:  # the field says which setting to look at
        field = "uri" if warm.uri and "store" in str(exc) else "from"
        raise SpecError(spec.source, f"{FIELD}.{field}", str(exc)) from None
    metric = spec.model.metric
    if (earlier.metric, earlier.mode) != (metric.name, metric.mode):
        raise SpecError(
            spec.source,
            f"{FIELD}.from",
            f"expected a search scored on {metric.name} ({metric.mode}), got search "
            f"{earlier.search_id}, scored on {earlier.metric or '?'} ({earlier.mode})",
        )
    prior = usable_trials(spec.space, earlier.trials)
    print(
        f"warm start: search {earlier.search_id} of experiment {experiment}: {prior.summary}",
        file=out,
        flush=True,
    )
    record = WarmStartRecord(
        experiment,
        earlier.search_id,
        display_uri(source_uri),
        tuple(prior.usable),
        dict(prior.unusable),
        {},
    )
    return warm_plan(spec, prior), record


def warm_plan(spec: Spec, prior: PriorTrials) -> Spec:
    """The spec with a coarse stage shortened by the usable trials, where the budget was
    given as trials (stages the user wrote are run as written)."""
    search = spec.model.search
    if REGISTRY[search.strategy].sized_by != "stages" or search.stages is not None:
        return spec
    trials = sum(s.trials for s in search.stage_list())
    given = reruns_for(spec, len(prior.usable)) + len(search.start_with)
    stages = tuple(stages_for(trials, len(prior.usable), given))
    model = spec.model.model_copy(
        update={"search": search.model_copy(update={"stages": stages, "trials": None})}
    )
    return replace(spec, model=model)


def reruns_for(spec: Spec, usable: int) -> int:
    """How many earlier trials run again: as asked, at most the usable ones, and (with
    start_with's points) no more than the first stage holds. A grid runs none."""
    search = spec.model.search
    warm = search.warm_start
    assert warm is not None
    sized_by = REGISTRY[search.strategy].sized_by
    if sized_by == "grid_points":
        return 0
    room = search.stage_list()[0].trials if sized_by == "stages" else search.trial_count()
    return max(0, min(warm.rerun, usable, room - len(search.start_with)))


def warm_strategy(spec: Spec, strategy: Strategy, record: WarmStartRecord) -> WarmStartRecord:
    """Tell the strategy the earlier trials; the record, with the reruns the strategy chose."""
    strategy.warm_start(record.usable, reruns_for(spec, len(record.usable)))
    return replace(record, reruns=dict(strategy.reruns))


def effect(spec: Spec, strategy: Strategy, record: WarmStartRecord, cold_coarse: int) -> str:
    """What the earlier trials change, for the console."""
    name = spec.model.search.strategy
    count = len(record.usable)
    if not count:
        return "warm start: no earlier trial is usable; the search starts cold"
    again = f"; the best {len(record.reruns)} run again first" if record.reruns else ""
    if REGISTRY[name].sized_by == "stages":
        first = spec.model.search.stage_list()[0].trials
        shorter = (
            f" (a coarse stage of {first} trials instead of {cold_coarse})"
            if first < cold_coarse
            else ""
        )
        return f"warm start: {count} earlier trials are coarse evidence{shorter}{again}"
    if name == "grid":
        skipped = spec.space.grid_size(spec.model.search.grid_points) - strategy.planned_trials
        return f"warm start: the grid skips the {skipped} points the earlier search ran"
    if name == "random":
        return f"warm start: random search samples as it would without them{again}"
    return f"warm start: {count} earlier trials join {name}'s model as completed trials{again}"


def rerun_drift(
    record: WarmStartRecord, results: list[TrialResult]
) -> tuple[list[tuple[str, str, float, float]], Drift | None]:
    """Each finished rerun as (key, earlier key, old score, new score), and their drift."""
    old = {r.key: r.score for r in record.usable}
    told = {r.key: r for r in results}
    pairs = []
    for key, prior_key in sorted(record.reruns.items()):
        result = told.get(key)
        before = old.get(prior_key)
        if result is None or result.failed or before is None:
            continue
        pairs.append((key, prior_key, float(before), float(result.score)))  # type: ignore[arg-type]
    return pairs, drift([p[2] for p in pairs], [p[3] for p in pairs])
