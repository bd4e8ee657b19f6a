"""Builds and runs the Ray Tune ``Tuner`` for a search (imported once Ray is up)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ray
from ray import tune
from ray.tune import Trainable
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler
from ray.tune.stopper import CombinedStopper, Stopper

from search_spaces.strategies.base import Strategy
from searcher.engine.adapter import StrategySearcher
from searcher.engine.listener import OutcomeListener
from searcher.engine.memory_kills import memory_kills_as_dead_workers
from searcher.engine.outcomes import TrialOutcomes
from searcher.engine.protocol import TUNE_ITERATION, metric_path
from searcher.engine.session import interrupts_deferred
from searcher.engine.trainable import TrialJob, run_trial
from searcher.events import Event, Publisher, Sink, TrialEnded, Verdict
from searcher.spec import Spec
from trials.config import DataSource


@dataclass
class TunerOutcome:
    """What the trials produced: each ended key's status, and why the search stopped early."""

    statuses: dict[str, str]
    stopped: str | None = None  # why the search was stopped before its budget, if it was
    interrupted: bool = False  # Ctrl-C (or SIGTERM) was pressed more than once
    sink_errors: list[str] = field(default_factory=list)  # sinks that raised on an event
    time_up: bool = False  # the time budget ended it: no trial started after it


# Times a trial whose worker died is run again before it counts as FAILED.
WORKER_RETRIES = 2

# Trials that must end before a metric that never comes stops the search.
FIRST_TRIALS_CHECKED = 4


class MetricNeverComes(Stopper):
    """Stops the whole search once its first trials all ended without the spec's metric.

    A misspelled metric (or a workload that reports another name) would otherwise spend the
    whole budget on trials that can never score. A sink of the pipeline.
    """

    def __init__(self, metric: str, first: int) -> None:
        self.metric, self.first = metric, first
        self.verdicts: list[Verdict] = []  # in the order trials ended

    def handle(self, event: Event) -> None:
        if isinstance(event, TrialEnded) and event.verdict.status != "KILLED":
            self.verdicts.append(event.verdict)

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.reason() is not None

    def reason(self) -> str | None:
        """Why to stop the search: the first ``first`` trials all ended without the metric."""
        head = self.verdicts[: self.first]
        if self.first < 1 or len(head) < self.first or not all(v.missing_metric for v in head):
            return None
        return (
            f"the first {self.first} trials ended without reporting the metric {self.metric} "
            f"(the last one reported: {head[-1].reported}); check metric.name in the spec "
            "against what the workload reports"
        )


class Halt(Stopper):
    """Stops the whole search as soon as ``why()`` names a reason (the store stopped taking
    writes): no trial starts after it, and the running ones end KILLED, for a resume to redo."""

    def __init__(self, why: Callable[[], str | None], outcomes: TrialOutcomes) -> None:
        self.why, self.outcomes = why, outcomes
        self.reason: str | None = None

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its stoppers with the experiment; the store's health is this process's.
        return {"reason": self.reason}

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return self.stop_all()

    def stop_all(self) -> bool:
        if self.reason is None and (reason := self.why()) is not None:
            self.reason = reason
            self.outcomes.halt(reason)
        return self.reason is not None


def make_scheduler(spec: Spec) -> TrialScheduler:
    """FIFO, or ASHA early stopping on the spec's metric with the report count as time."""
    sched = spec.model.scheduler
    if sched.type == "asha":
        assert spec.epochs is not None, "the spec requires budget.epochs for asha"
        return ASHAScheduler(
            time_attr=TUNE_ITERATION,
            metric=metric_path(spec.model.metric.name),
            mode=spec.model.metric.mode,
            max_t=spec.epochs,
            grace_period=min(sched.grace_period, spec.epochs),
            reduction_factor=sched.reduction_factor,
        )
    return FIFOScheduler()


def make_trainable(spec: Spec, source: DataSource | None) -> type[Trainable]:
    """The trial function with the search's resolved workload and per-trial resources."""
    res = spec.model.resources
    for module in spec.workload.modules(spec.code_dirs):
        # Workers on other machines may not have the user's file; by value, they need only
        # what the module itself imports. Installed modules stay by reference.
        ray.cloudpickle.register_pickle_by_value(module)
    job = TrialJob(
        workload=spec.workload,
        metric=spec.model.metric.name,
        epochs=spec.epochs,
        seed=spec.model.search.seed,
        cpus=res.cpu,
        code_dirs=tuple(spec.code_dirs),
        data=None if spec.workload.owns_data else spec.data,
        source=source,
        limits=spec.limits,
    )
    trainable = tune.with_parameters(run_trial, job=job)
    resources = {"cpu": res.cpu, "gpu": res.gpu}
    if spec.limits.memory_bytes is not None:
        resources["memory"] = spec.limits.memory_bytes  # Ray places trials by it
    return tune.with_resources(trainable, resources)


def run_tuner(
    spec: Spec,
    strategy: Strategy,
    source: DataSource | None,
    sinks: Sequence[Sink],
    *,
    run_name: str,
    storage: str,
    concurrency: int,
    halt: Callable[[], str | None] = lambda: None,
    deadline: float | None = None,
) -> TunerOutcome:
    """Run all trials of the strategy, publishing what happens to them to ``sinks``.

    ``concurrency`` is passed to Tune even when it only restates what the cluster fits: with a
    custom searcher and no limit, Tune keeps a single trial pending and ramps up one by one.
    Trials still running when the search stops are published as KILLED before this returns.
    ``halt`` is asked at every step of Tune's loop: a reason stops the search at once.
    ``deadline`` (time.monotonic()): no trial starts after it; running ones finish.
    """
    model = spec.model
    publisher = Publisher()
    outcomes = TrialOutcomes(model.metric.name, model.metric.mode, spec.epochs, publisher)
    stopper = MetricNeverComes(
        model.metric.name, min(FIRST_TRIALS_CHECKED, strategy.planned_trials)
    )
    halting = Halt(halt, outcomes)
    searcher = StrategySearcher(strategy, outcomes, deadline)
    # The strategy and the stopper hear each verdict first, then the store and the console.
    publisher.sinks = [searcher, stopper, *sinks]
    tuner = tune.Tuner(
        make_trainable(spec, source),
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=make_scheduler(spec),
            num_samples=strategy.planned_trials,
            max_concurrent_trials=concurrency,
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=run_name,
            storage_path=storage,
            callbacks=[OutcomeListener(outcomes)],
            stop=CombinedStopper(halting, stopper),  # the first to say stop wins: the halt
            verbose=0,
            # Trials report their own errors, so an error Tune sees is a worker that died
            # (killed, out of memory, node lost): run the trial again, a bounded number of times.
            failure_config=tune.FailureConfig(max_failures=WORKER_RETRIES, fail_fast=False),
        ),
    )
    interrupted = False
    try:
        with memory_kills_as_dead_workers():
            tuner.fit()  # a first Ctrl-C stops Tune gracefully and fit() returns
    except KeyboardInterrupt:
        interrupted = True  # a second one: stop waiting for Tune, but record the same way
    finally:
        with interrupts_deferred():  # a further Ctrl-C must not cut the recording short
            outcomes.interrupted()
    statuses, errors = dict(outcomes.statuses), list(publisher.errors)
    return TunerOutcome(statuses, stopper.reason(), interrupted, errors, searcher.time_up)
