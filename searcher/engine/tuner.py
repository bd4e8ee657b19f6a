"""Builds and runs the Ray Tune ``Tuner`` for a search (imported once Ray is up)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import ray
from ray import tune
from ray.tune import Trainable
from ray.tune.result import AUTO_RESULT_KEYS
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler
from ray.tune.stopper import Stopper

from search_spaces.strategies.base import Strategy
from search_spaces.trial import TrialResult
from searcher.console.live import make_progress
from searcher.engine.adapter import StrategySearcher
from searcher.engine.callback import TrackingCallback
from searcher.engine.protocol import TUNE_ITERATION, TrialBook
from searcher.engine.session import interrupts_deferred
from searcher.engine.trainable import TrialJob, run_trial
from searcher.spec import Spec
from searcher.tracking.recorder import RunRecorder
from trials.config import DataSource
from trials.user_code import FunctionWorkload, is_local_module

# Keys Tune adds to every result; they are bookkeeping, never a trial's metrics.
TUNE_KEYS = frozenset(AUTO_RESULT_KEYS) | {"done", "trial_id", "experiment_tag"}


@dataclass
class TunerOutcome:
    """What the trials produced: each key's run id, runs per status, errors of the logging."""

    run_ids: dict[str, str]
    counts: dict[str, int]
    logging_errors: list[str]
    stopped: str | None = None  # why the search was stopped before its budget, if it was
    interrupted: bool = False  # Ctrl-C (or SIGTERM) was pressed more than once


# Times a trial whose worker died is run again before it counts as FAILED.
WORKER_RETRIES = 2

# Trials that must end before a metric that never comes stops the search.
FIRST_TRIALS_CHECKED = 4


class MetricNeverComes(Stopper):
    """Stops the whole search once its first trials all ended without the spec's metric.

    A misspelled metric (or a workload that reports another name) would otherwise spend the
    whole budget on trials that can never score.
    """

    def __init__(self, book: TrialBook, first: int) -> None:
        self.book, self.first = book, first

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.reason() is not None

    def reason(self) -> str | None:
        return self.book.metric_never_comes(self.first)


def make_scheduler(spec: Spec) -> TrialScheduler:
    """FIFO, or ASHA early stopping on the spec's metric with the epoch as time."""
    sched = spec.model.scheduler
    if sched.type == "asha":
        assert spec.epochs is not None, "the spec requires budget.epochs for asha"
        return ASHAScheduler(
            time_attr=TUNE_ITERATION,
            metric=spec.model.metric.name,
            mode=spec.model.metric.mode,
            max_t=spec.epochs,
            grace_period=min(sched.grace_period, spec.epochs),
            reduction_factor=sched.reduction_factor,
        )
    return FIFOScheduler()


def make_trainable(spec: Spec, source: DataSource | None) -> type[Trainable]:
    """The trial function with the search's shared settings and per-trial resources attached."""
    res = spec.model.resources
    workload = spec.workload
    if isinstance(workload, FunctionWorkload):
        ship_by_value(workload, spec.code_dirs)
    job = TrialJob(
        # A built-in goes by its spec name (also module:Workload), resolved in the worker.
        workload=str(spec.model.workload) if spec.builtin else workload,
        metric=spec.model.metric.name,
        epochs=spec.epochs,
        seed=spec.model.search.seed,
        cpus=res.cpu,
        code_dirs=tuple(spec.code_dirs),
        data=spec.data if spec.builtin else None,
        source=source,
    )
    trainable = tune.with_parameters(run_trial, job=job)
    return tune.with_resources(trainable, {"cpu": res.cpu, "gpu": res.gpu})


def run_tuner(
    spec: Spec,
    strategy: Strategy,
    source: DataSource | None,
    recorder: RunRecorder,
    *,
    run_name: str,
    storage: str,
    concurrency: int,
    out: TextIO,
    kept: Sequence[TrialResult] = (),
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
    progress.count_kept(kept)

    def on_stage(stage: int) -> None:
        record = next((r for r in strategy.boxes if r.stage == stage), None)
        size = record.trials if record is not None else strategy.planned_trials
        progress.stage_started(stage, size, record.ranges if record and stage > 1 else None)

    book = TrialBook(model.metric.name, model.metric.mode, spec.epochs, TUNE_KEYS)
    stopper = MetricNeverComes(book, min(FIRST_TRIALS_CHECKED, strategy.planned_trials))
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
            stop=stopper,
            verbose=0,
            # Trials report their own errors, so an error Tune sees is a worker that died
            # (killed, out of memory, node lost): run the trial again, a bounded number of times.
            failure_config=tune.FailureConfig(max_failures=WORKER_RETRIES, fail_fast=False),
        ),
    )
    interrupted = False
    try:
        tuner.fit()  # a first Ctrl-C stops Tune gracefully and fit() returns
    except KeyboardInterrupt:
        interrupted = True  # a second one: stop waiting for Tune, but record the same way
    finally:
        with interrupts_deferred():  # a further Ctrl-C must not cut the recording short
            callback.mark_unfinished()
            recorder.close()
            callback.print_stored(final=True)
            progress.close()
    counts = Counter(recorder.statuses.values())
    return TunerOutcome(
        dict(recorder.run_ids),
        dict(counts),
        list(recorder.errors),
        stopper.reason(),
        interrupted,
    )


def ship_by_value(workload: FunctionWorkload, code_dirs: list[str]) -> None:
    """Send the user's module to the workers inside the pickled function, not as a name.

    Workers on other machines may not have the file; by value, they need only what the module
    itself imports. Installed modules stay by reference.
    """
    module = sys.modules.get(getattr(workload.fn, "__module__", ""))
    if module is not None and module.__name__ != "__main__" and is_local_module(module, code_dirs):
        ray.cloudpickle.register_pickle_by_value(module)
