"""Builds and runs the Ray Tune ``Tuner`` for a search (imported once Ray is up)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, TextIO

from ray import tune
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

from search_spaces.strategies.base import Strategy
from searcher.live_progress import make_progress
from searcher.run_recorder import RunRecorder
from searcher.spec import Spec
from searcher.trainable import TrialJob, run_trial
from searcher.tune_adapter import StrategySearcher
from searcher.tune_callbacks import TrackingCallback
from trials.sources import DataSource


@dataclass
class TunerOutcome:
    run_ids: dict[str, str]
    counts: dict[str, int]
    logging_errors: list[str]


def make_scheduler(spec: Spec) -> Any:
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


def make_trainable(spec: Spec, source: DataSource) -> Any:
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
    client: Any,
    experiment_id: str,
    parent: str,
    *,
    storage: str,
    concurrency: int,
    out: TextIO,
) -> TunerOutcome:
    """Run all trials of the strategy; returns the child run ids and status counts.

    ``concurrency`` is passed to Tune even when it only restates what the cluster fits: with a
    custom searcher and no limit, Tune keeps a single trial pending and ramps up one by one.
    """
    model = spec.model
    progress = make_progress(
        model.metric.name, model.metric.mode, strategy.planned_trials, spec.space.tuned_names, out
    )
    stage_sizes = {i + 1: s.trials for i, s in enumerate(model.search.stage_list())}

    def on_stage(stage: int) -> None:
        records = {r.stage: r for r in strategy.boxes}
        ranges = records[stage].ranges if stage in records and stage > 1 else None
        size = stage_sizes.get(stage, strategy.planned_trials)
        if model.search.strategy != "coarse_to_fine":
            size = strategy.planned_trials
        progress.stage_started(stage, size, ranges)

    searcher = StrategySearcher(strategy, model.metric.name, model.metric.mode, on_stage)
    recorder = RunRecorder(client, experiment_id, parent)
    callback = TrackingCallback(recorder, searcher, spec.space, model.budget.epochs, progress)
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
            name=f"{spec.name}-{parent[:8]}",
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
