"""Runs one search end to end: spec → strategy → Ray Tune → MLflow, and reports the outcome."""

from __future__ import annotations

import importlib
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from search_spaces.constraints import duration_seconds
from search_spaces.prior import PRIOR_KEY
from searcher.console.lines import fmt_duration, fmt_params
from searcher.engine.session import (
    interrupts_deferred,
    quiet_ray_env,
    ray_session,
    sigterm_as_interrupt,
)
from searcher.errors import SearcherError, SearchStopped, SpecError, StoreFailed
from searcher.phases import Phases
from searcher.spec import Spec
from searcher.spec.models import MetricSpec
from searcher.summary import SearchSummary, error_kinds
from searcher.tracking.probe import probe
from searcher.tracking.uri import display_uri, resolve_tracking_uri
from trials.config import DataSource
from trials.errors import DataError
from trials.sources import check_size, resolve_source

# MLflow (~0.9 s to import) is imported by the thread that opens the store while Ray starts;
# the tracking modules below it are imported where they are used, after that.
if TYPE_CHECKING:
    from search_spaces.strategies.base import Strategy
    from searcher.engine.tuner import TunerOutcome
    from searcher.tracking.records import WarmStartRecord
    from searcher.tracking.resume import ResumePlan, Run  # MLflow's, through tracking
    from searcher.tracking.store import Store

DEFAULT_STORAGE = Path("~/.cache/searcher/ray_results")


def prepare_data(spec: Spec, out: TextIO | None = None) -> DataSource:
    """Find (or download, or decode into the cache) the data once in the driver."""
    if out is not None:
        # Downloading MNIST or decoding a folder of photos can take minutes: say so first.
        print(f"data: preparing {spec.data.dataset} ...", file=out, flush=True)
    try:
        source = resolve_source(spec.data)
        check_size(spec.data, source.count, source.description.split(";")[0])
        return source
    except DataError as exc:
        raise SpecError(spec.source, exc.field, exc.message) from None


@dataclass
class SearchRun:
    """One search as it runs: what each step after the checks needs."""

    spec: Spec
    strategy: Strategy
    source: DataSource | None
    uri: str
    storage: str
    plan: ResumePlan | None
    out: TextIO
    phases: Phases
    started: float
    client: Store | None = None
    experiment_id: str = ""
    search_id: str | None = None
    warm_start: WarmStartRecord | None = None  # the earlier trials it began from

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)


@dataclass(frozen=True)
class Recorded:
    """What the store holds of the search's trials (a resume's kept ones included)."""

    statuses: dict[str, str]  # key -> the status its run ended with
    run_ids: dict[str, str]
    logging_errors: list[str]
    store_failing: str | None = None  # why the store was given up on mid-search
    failed_writes: int = 0


def run_search(
    spec: Spec,
    *,
    tracking_uri: str | None = None,
    address: str | None = None,
    storage_path: str | None = None,
    out: TextIO | None = None,
    plan: ResumePlan | None = None,
) -> SearchSummary:
    """Run the spec's search on Ray Tune and record it in MLflow; returns the summary.

    Everything that can be checked (spec, data, store, cluster resources, shared storage) is
    checked before the search's run is created, so a bad setup leaves nothing behind. With a
    ``plan``, the stopped search it names continues: its kept trials are told to the strategy
    and only the rest run.
    """
    run = _prepare(spec, tracking_uri, storage_path, out or sys.stdout, plan)
    quiet_ray_env()
    # The store (a new file's schema, MLflow's SQL layer) gets ready while Ray starts.
    pool = ThreadPoolExecutor(1, thread_name_prefix="searcher-store")
    opening = pool.submit(_open_tracking, run.uri, run.phases)
    pool.shutdown(wait=False)
    ran: tuple[TunerOutcome, Recorded] | None = None
    late_interrupt = False
    try:
        with ray_session(address), sigterm_as_interrupt():
            run.phases.mark("ray")
            run.client = opening.result()
            ran = _start_and_run(run)
    except KeyboardInterrupt:
        if ran is None:  # stopped before the trials ran: nothing to summarise
            _end_search_run(run, "KILLED")
            raise
        late_interrupt = True  # pressed again while Ray shut down: what ran is recorded
    assert ran is not None
    run.phases.mark("trials_done")
    with interrupts_deferred():
        return _finish(run, *ran, late_interrupt)


def _prepare(
    spec: Spec,
    tracking_uri: str | None,
    storage_path: str | None,
    out: TextIO,
    plan: ResumePlan | None,
) -> SearchRun:
    """The checks that need no Ray: the store's URI answers, the data is there."""
    started = time.monotonic()
    phases = Phases()
    phases.mark("imports")
    uri = resolve_tracking_uri(tracking_uri, spec.model.tracking.uri)
    storage = resolve_storage(storage_path or spec.model.storage_path)
    probe(uri)  # a store that is not there fails here, before the data and Ray
    spec, strategy, warm = _strategy(spec, uri, plan, out)
    if plan is not None:
        strategy.replay(plan.kept)
    run = SearchRun(spec, strategy, None, uri, storage, plan, out, phases, started, warm_start=warm)
    if not spec.workload.owns_data:
        run.source = prepare_data(spec, out)
        run.say(f"data: {run.source.description}")
        phases.mark("data")
    return run


def _strategy(
    spec: Spec, uri: str, plan: ResumePlan | None, out: TextIO
) -> tuple[Spec, Strategy, WarmStartRecord | None]:
    """The spec's strategy, told a warm start's earlier trials: read from the earlier search
    (the spec then plans around them), or on resume and extend from what the search recorded."""
    if spec.model.search.warm_start is None:
        return spec, spec.build_strategy(), None
    from searcher.warm_starting import effect, read_warm_start, warm_strategy

    if plan is not None:
        warm = plan.warm_start
        if warm is None:  # recorded cold (its first run never got to record the warm start)
            return spec, spec.build_strategy(), None
        strategy = spec.build_strategy()
        # As many reruns as the first run had: extend may have raised what would fit now.
        strategy.warm_start(warm.usable, len(warm.reruns))
        return spec, strategy, warm
    cold_coarse = spec.model.search.stage_list()[0].trials
    spec, warm = read_warm_start(spec, uri, out)
    strategy = spec.build_strategy()
    warm = warm_strategy(spec, strategy, warm)
    if strategy.planned_trials == 0:  # a grid the earlier search ran whole
        raise SpecError(
            spec.source,
            "search.warm_start.from",
            f"expected a search that leaves grid points to run, got search {warm.search_id}, "
            "which ran every one",
        )
    print(effect(spec, strategy, warm, cold_coarse), file=out, flush=True)
    return spec, strategy, warm


def _start_and_run(run: SearchRun) -> tuple[TunerOutcome, Recorded]:
    """The cluster checked, the search's run begun, then the trials (a crash ends it FAILED)."""
    from searcher.engine.cluster import (
        alive_nodes,
        check_shared_storage,
        check_trial_fits,
        trial_slots,
    )
    from searcher.tracking.store import ensure_experiment

    assert run.client is not None
    nodes = alive_nodes()
    res = run.spec.model.resources
    memory = float(run.spec.limits.memory_bytes or 0)
    check_trial_fits(nodes, res.cpu, res.gpu, memory)
    check_shared_storage(run.storage, nodes)
    run.experiment_id = ensure_experiment(run.client, run.uri, run.spec.experiment)
    run.search_id = _begin(run)
    run.phases.mark("search_run")
    where = f"{len(nodes)} Ray nodes" if len(nodes) > 1 else "local Ray"
    run.say(
        f"tracking: {display_uri(run.uri)} (experiment {run.spec.experiment}, search "
        f"{run.search_id}); running on {where}"
    )
    try:
        slots = trial_slots(nodes, res.cpu, res.gpu, memory)
        return _run_trials(run, res.max_concurrent or slots)
    except Exception:
        _end_search_run(run, "FAILED")
        raise


def _end_search_run(run: SearchRun, status: str) -> None:
    """End the search's run, if it began, without a summary (the search broke first)."""
    if run.client is not None and run.search_id is not None:
        from searcher.tracking.search_run import end_search_run

        end_search_run(run.client, run.search_id, status)


def _run_trials(run: SearchRun, concurrency: int) -> tuple[TunerOutcome, Recorded]:
    """The trials on Ray Tune, their events wired to the store, the console and the strategy.

    The recorder is closed before this returns, so everything it buffered is in the store.
    """
    from searcher.console.live import make_progress
    from searcher.console.sink import ConsoleSink
    from searcher.engine.tuner import run_tuner
    from searcher.tracking.recorder import RunRecorder
    from searcher.tracking.sink import TrackingSink

    spec, strategy, plan = run.spec, run.strategy, run.plan
    assert run.client is not None and run.search_id is not None
    model = spec.model
    recorder = RunRecorder(run.client, run.experiment_id, run.search_id)
    progress = make_progress(
        model.metric.name,
        model.metric.mode,
        strategy.planned_trials,
        spec.space.tuned_value_names,
        run.out,
    )
    progress.count_kept(plan.kept if plan else ())
    budget = model.search.time_budget
    deadline = run.started + duration_seconds(budget) if budget else None
    progress.deadline = deadline
    console = ConsoleSink(progress, recorder.stored)
    strategy.expect_workers(concurrency)
    try:
        outcome = run_tuner(
            spec,
            strategy,
            run.source,
            [
                TrackingSink(
                    recorder, spec.space, model.metric.name, strategy.given_keys, strategy.reruns
                ),
                console,
            ],
            run_name=f"{spec.name}-{run.search_id[:8]}{_resume_suffix(plan)}",
            storage=run.storage,
            concurrency=concurrency,
            halt=lambda: recorder.failing,  # a store that stopped taking writes ends the search
            deadline=deadline,
        )
    finally:
        with interrupts_deferred():
            recorder.close()
            console.close()
    statuses = {**(plan.statuses if plan else {}), **recorder.statuses}
    run_ids = {**(plan.run_ids if plan else {}), **recorder.run_ids}
    errors = [*recorder.errors, *outcome.sink_errors]
    health = recorder.health
    return outcome, Recorded(statuses, run_ids, errors, health.failing, health.failures)


def _open_tracking(uri: str, phases: Phases) -> Store:
    """MLflow imported, the store's schema ready (see tracking.template), in the background."""
    from searcher.tracking.store import open_store

    client = open_store(uri, probed=True)
    for module in ("orphans", "recorder", "resume", "search_run"):  # used next, in the driver
        importlib.import_module(f"searcher.tracking.{module}")
    phases.mark("store")
    return client


def _resume_suffix(plan: ResumePlan | None) -> str:
    """Each resume gets its own Ray experiment folder beside the first run's."""
    return f"-r{plan.resumes + 1}" if plan is not None else ""


def _begin(run: SearchRun) -> str:
    """The search's run: a new one, or the stopped one a resume continues (reopened)."""
    from searcher.tracking.orphans import sweep_orphans
    from searcher.tracking.resume import UNFINISHED, claim_for, latest_search, reopen_search_run
    from searcher.tracking.search_run import start_search_run

    client, plan, planned = run.client, run.plan, run.strategy.planned_trials
    assert client is not None
    if plan is not None:
        # After every check, before any write: the loser of two resumes exits having written
        # nothing, and a resume refused for its settings leaves no claim behind.
        claim_for(client, plan)
    for orphan in sweep_orphans(client, run.experiment_id, keep=plan.search_id if plan else ""):
        run.say(f"marked KILLED: search {orphan}, whose process is gone")
    if plan is not None:
        reopen_search_run(client, plan)
        doing = "extending" if plan.new_record is not None else "resuming"
        run.say(
            f"{doing} search {plan.search_id}: {len(plan.kept)} of {planned} trials kept, "
            f"{planned - len(plan.kept)} to run ({len(plan.cut_short)} cut short, marked KILLED)"
        )
        return plan.search_id
    experiment = run.spec.experiment
    last = latest_search(client, run.experiment_id)  # one query for both notes below
    for line in _drift_from_last(run, last):
        run.say(line)
    stopped = last if last is not None and last.info.status in UNFINISHED else None
    if stopped is not None:
        run.say(
            f"note: the last search of experiment {experiment}, {stopped.info.run_id}, "
            f"ended {stopped.info.status}; `searcher resume {experiment}` continues it "
            "instead of starting over"
        )
    return start_search_run(
        client, run.experiment_id, run.spec, planned, run.source, run.warm_start
    )


def _drift_from_last(run: SearchRun, last: Run | None) -> list[str]:
    """A warning when the experiment's last search (``last``) tuned another space, on another
    metric or workload: its results and this search's then do not compare."""
    from searcher.spec.normalise import spec_changes
    from searcher.tracking.readers import read_search

    assert run.client is not None
    if last is None:
        return []
    try:
        before = _compared(read_search(run.client, last).spec)
    except SearcherError:  # a search without a readable spec: nothing to compare
        return []
    changes = spec_changes(before, _compared(run.spec.raw))
    if not changes:
        return []
    shown = "; ".join(changes[:4]) + ("; ..." if len(changes) > 4 else "")
    return [
        f"warning: the last search of experiment {run.spec.experiment}, {last.info.run_id}, "
        f"differs in {shown}: its results do not compare with this search's"
    ]


def _compared(spec: dict[str, Any]) -> dict[str, Any]:
    """What makes two searches of one experiment comparable: workload, metric, space."""
    metric = spec.get("metric") if isinstance(spec.get("metric"), dict) else {}
    default = MetricSpec()
    return {
        "workload": spec.get("workload"),
        "metric": {
            "name": metric.get("name", default.name),
            "mode": metric.get("mode", default.mode),
        },
        "space": spec.get("space"),
    }


def _finish(
    run: SearchRun, outcome: TunerOutcome, recorded: Recorded, late_interrupt: bool
) -> SearchSummary:
    """Record the search's end on its run and print the summary (Ctrl-C is held off)."""
    from searcher.tracking.search_run import finish_search_run

    spec, strategy = run.spec, run.strategy
    assert run.client is not None and run.search_id is not None
    if recorded.store_failing is not None:
        _store_failed(run, recorded)
    stopped = outcome.stopped
    ran = len(strategy.known_results)
    unfinished = ran < strategy.planned_trials
    # The budget ended it only if every trial it started finished: a Ctrl-C after the
    # deadline cuts running trials short (KILLED), and that is an interrupted search.
    cut_short = "KILLED" in outcome.statuses.values()
    timed_out = (
        unfinished and outcome.time_up and not (outcome.interrupted or late_interrupt or cut_short)
    )
    interrupted = (
        not stopped and not timed_out and (outcome.interrupted or late_interrupt or unfinished)
    )
    best = strategy.best()
    reruns, drift_note = _reruns(run)
    summary = SearchSummary(
        search_id=run.search_id,
        experiment=spec.experiment,
        tracking_uri=run.uri,
        planned=strategy.planned_trials,
        counts=dict(Counter(recorded.statuses.values())),
        best_key=best.key if best else None,
        best_score=best.score if best else None,
        best_params=dict(best.params) if best else {},
        best_run_id=recorded.run_ids.get(best.key) if best else None,
        warnings=[*strategy.warnings(), *drift_note],
        error_kinds=error_kinds([r.error for r in strategy.known_results if r.error]),
        logging_errors=recorded.logging_errors,
        interrupted=interrupted,
        stopped=stopped,
        run_ids=dict(recorded.run_ids),
        ended_by=(
            f"time budget reached after {ran} of {strategy.planned_trials} planned trials"
            if timed_out
            else None
        ),
        reruns=reruns,
    )
    finish_search_run(
        run.client,
        run.search_id,
        metric=spec.model.metric.name,
        boxes=strategy.boxes,
        best=best,
        best_run_id=summary.best_run_id,
        counts=summary.counts,
        warnings=summary.warnings,
        logging_errors=summary.logging_errors,
        status="FAILED" if stopped else "KILLED" if interrupted else "FINISHED",
        error=stopped,
        phases=run.phases,
        ended_by=summary.ended_by,
    )
    summary.seconds = time.monotonic() - run.started
    _print_summary(summary, spec, run.out)
    if stopped:
        raise SearchStopped(f"search stopped: {stopped}")
    return summary


def _reruns(run: SearchRun) -> tuple[list[tuple[str, str, float, float]], list[str]]:
    """A warm start's reruns (key, earlier key, old score, new score) and, when the scores
    moved by more than the reruns' scatter, a warning saying so."""
    if run.warm_start is None or not run.warm_start.reruns:
        return [], []
    from searcher.warm_starting import rerun_drift

    pairs, drift = rerun_drift(run.warm_start, run.strategy.known_results)
    if drift is None or not drift.significant:
        return pairs, []
    metric = run.spec.model.metric.name
    return pairs, [
        f"{drift.describe(metric)} since search {run.warm_start.search_id}: "
        "the objective drifted, so its scores are a rough guide to this search's"
    ]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _store_failed(run: SearchRun, recorded: Recorded) -> None:
    """The store stopped taking writes: end the search's run if it still can, then one line."""
    from searcher.tracking import tags as T
    from searcher.tracking.search_run import end_search_run

    assert run.client is not None and run.search_id is not None
    try:  # the store may take this write again (space freed), or may not: either is fine
        run.client.set_tag(run.search_id, T.ERROR, f"store failed: {recorded.store_failing}")
        end_search_run(run.client, run.search_id, "FAILED")
    except Exception:  # noqa: BLE001, S110 - left RUNNING, a resume takes it over all the same
        pass
    kept = sum(1 for status in recorded.statuses.values() if status in ("FINISHED", "FAILED"))
    raise StoreFailed(
        f"the store {display_uri(run.uri)} stopped taking writes ({recorded.store_failing}; "
        f"{_count(recorded.failed_writes, 'write')} failed), so the search stopped with {kept} of "
        f"{run.strategy.planned_trials} trials recorded; once it takes writes again, "
        f"`searcher resume {run.spec.experiment}` completes the search"
    )


def resolve_storage(path: str | None) -> str:
    """Ray's experiment storage: a URI as given, a local path made absolute."""
    chosen = path or str(DEFAULT_STORAGE)
    if "://" in chosen:
        return chosen
    return str(Path(chosen).expanduser().resolve())


def _print_summary(summary: SearchSummary, spec: Spec, out: TextIO) -> None:
    counts = ", ".join(f"{v} {k.lower()}" for k, v in sorted(summary.counts.items()))
    say = lambda text: print(text, file=out, flush=True)  # noqa: E731
    head = (
        "search stopped"
        if summary.stopped
        else "search interrupted"
        if summary.interrupted
        else "search finished"
    )
    say(f"{head} in {fmt_duration(summary.seconds)}: {counts or 'no trials'}")
    if summary.ended_by:
        say(summary.ended_by)
    if summary.reruns:
        say(f"reruns of the earlier search's best ({spec.model.metric.name}, then -> now):")
        for key, earlier, old, new in summary.reruns:
            was = earlier.removeprefix(PRIOR_KEY)
            say(f"  {key} (was {was}): {old:.4f} -> {new:.4f} ({new - old:+.4f})")
    for warning in summary.warnings:
        say(f"warning: {warning}")
    if summary.logging_errors:
        say(f"warning: {len(summary.logging_errors)} logging error(s); the store may lack data:")
        for error in summary.logging_errors[:5]:
            say(f"  {error}")
    if summary.best_key is None:
        say("no trial finished with a metric")
        for count, error in summary.error_kinds:
            say(f"  {count} x {error}")
        return
    names = list(summary.best_params)
    say(
        f"best trial {summary.best_key}: {spec.model.metric.name}={summary.best_score:.4f}  "
        f"{fmt_params(summary.best_params, names)}"
    )
    say(f"best run: {summary.best_run_id}  (search {summary.search_id})")
