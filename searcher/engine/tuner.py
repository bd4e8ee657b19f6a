"""Builds and runs the Ray Tune ``Tuner`` for a search (imported once Ray is up)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TextIO

from ray import tune
from ray.tune import Trainable
from ray.tune.result import AUTO_RESULT_KEYS
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler

from search_spaces.strategies.base import Strategy
from searcher.console.live import make_progress
from searcher.engine.adapter import StrategySearcher
from searcher.engine.callback import TrackingCallback
from searcher.engine.protocol import TrialBook
from searcher.engine.trainable import TrialJob, run_trial
from searcher.spec import Spec
from searcher.tracking.recorder import RunRecorder
from trials.config import DataSource

# Keys Tune adds to every result; they are bookkeeping, never a trial's metrics.
TUNE_KEYS = frozenset(AUTO_RESULT_KEYS) | {"done", "trial_id", "experiment_tag"}


@dataclass
class TunerOutcome:
    """What the trials produced: each key's run id, runs per status, errors of the logging."""

    run_ids: dict[str, str]
    counts: dict[str, int]
    logging_errors: list[str]


def make_scheduler(spec: Spec) -> TrialScheduler:
    """FIFO, or ASHA early stopping on the spec's metric with the epoch as time."""
    sched = spec.model.scheduler
    if sched.type == "asha":
        return ASHAScheduler(
            time_attr="training_iteration",
            metric=spec.model.metric.name,
            mode=spec.model.metric.mode,
            max_t=spec.model.budget.epochs,
            grace_period=min(sched.grace_period, spec.model.budget.epochs),
            reduction_factor=sched.reduction_factor,
        )
    return FIFOScheduler()


def make_trainable(spec: Spec, source: DataSource) -> type[Trainable]:
    """The trial function with the search's shared settings and per-trial resources attached."""
    res = spec.model.resources
    job = TrialJob(
        workload=spec.model.workload,
        data=spec.data,
        source=source,
        epochs=spec.model.budget.epochs,
        seed=spec.model.search.seed,
        cpus=res.cpu,
    )
    trainable = tune.with_parameters(run_trial, job=job)
    return tune.with_resources(trainable, {"cpu": res.cpu, "gpu": res.gpu})


def run_tuner(
    spec: Spec,
    strategy: Strategy,
    source: DataSource,
    recorder: RunRecorder,
    *,
    run_name: str,
    storage: str,
    concurrency: int,
    out: TextIO,
) -> TunerOutcome:
    """Run all trials of the strategy, recording each; returns the child run ids and counts.

    ``concurrency`` is passed to Tune even when it only restates what the cluster fits: with a
    custom searcher and no limit, Tune keeps a single trial pending and ramps up one by one.
    The recorder is closed here, so everything it buffered is in the store on return.
    """
    model = spec.model
    progress = make_progress(
        model.metric.name, model.metric.mode, strategy.planned_trials, spec.space.tuned_names, out
    )

    def on_stage(stage: int) -> None:
        record = next((r for r in strategy.boxes if r.stage == stage), None)
        size = record.trials if record is not None else strategy.planned_trials
        progress.stage_started(stage, size, record.ranges if record and stage > 1 else None)

    book = TrialBook(model.metric.name, model.metric.mode, model.budget.epochs, TUNE_KEYS)
    searcher = StrategySearcher(strategy, book, on_stage)
    callback = TrackingCallback(recorder, book, spec.space, progress)
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
            callbacks=[callback],
            verbose=0,
            failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
        ),
    )
    try:
        tuner.fit()
    finally:
        callback.mark_unfinished()
        progress.close()
        recorder.close()
    counts = Counter(recorder.statuses.values())
    return TunerOutcome(dict(recorder.run_ids), dict(counts), list(recorder.errors))
