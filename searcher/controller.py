"""Runs one search end to end: spec → strategy → Ray Tune → MLflow, and reports the outcome."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from search_spaces.strategies import make_strategy
from search_spaces.strategies.base import Strategy
from searcher.errors import SearcherError
from searcher.orphans import owner_tags, sweep_orphans
from searcher.progress import fmt_duration, fmt_params
from searcher.ray_session import quiet_ray_env, ray_session, sigterm_as_interrupt
from searcher.spec import Spec
from searcher.store import display_uri, ensure_experiment, open_store, resolve_tracking_uri
from searcher.yaml_io import dump_yaml
from trials.errors import DataError
from trials.sources import DataSource, check_size, resolve_source

DEFAULT_STORAGE = Path("~/.cache/searcher/ray_results")


@dataclass
class SearchSummary:
    """What a finished (or interrupted) search produced, as the CLI and tests see it."""

    search_id: str
    experiment: str
    tracking_uri: str
    planned: int
    counts: dict[str, int]
    best_key: str | None
    best_score: float | None
    best_params: dict[str, Any]
    best_run_id: str | None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False
    run_ids: dict[str, str] = field(default_factory=dict)


def build_strategy(spec: Spec) -> Strategy:
    """The spec's strategy over its space."""
    search = spec.model.search
    return make_strategy(
        search.strategy,
        spec.space,
        spec.model.metric.mode,
        search.seed,
        trials=search.trial_count(),
        stages=[_stage(s) for s in search.stage_list()],
        grid_points=search.grid_points,
    )


def _stage(model: Any) -> Any:
    from search_spaces.strategies.coarse_to_fine import StageSpec

    return StageSpec(trials=model.trials, keep_top=model.keep_top, pad=model.pad)


def prepare_data(spec: Spec, out: TextIO | None = None) -> DataSource:
    """Find (or download, or decode into the cache) the data once in the driver."""
    if out is not None:
        # Downloading MNIST or decoding a folder of photos can take minutes: say so first.
        print(f"data: preparing {spec.data.dataset} ...", file=out, flush=True)
    try:
        source = resolve_source(spec.data)
        check_size(spec.data, source)
        return source
    except DataError as exc:
        raise SearcherError(f"{spec.source}: data: {exc}") from None


def run_search(
    spec: Spec,
    *,
    tracking_uri: str | None = None,
    address: str | None = None,
    storage_path: str | None = None,
    out: TextIO | None = None,
) -> SearchSummary:
    """Run the spec's search on Ray Tune and record it in MLflow; returns the summary.

    Everything that can be checked (spec, data, store, cluster resources, shared storage) is
    checked before the search's run is created, so a bad setup leaves nothing behind.
    """
    out = out or sys.stdout
    started = time.monotonic()
    uri = resolve_tracking_uri(tracking_uri, spec.model.tracking.uri)
    storage = resolve_storage(storage_path or spec.model.storage_path)
    strategy = build_strategy(spec)
    source = prepare_data(spec, out)
    print(f"data: {source.description}", file=out, flush=True)
    client = open_store(uri)
    quiet_ray_env()
    with ray_session(address), sigterm_as_interrupt():
        from searcher.cluster import (
            alive_nodes,
            check_shared_storage,
            check_trial_fits,
            trial_slots,
        )
        from searcher.tune_run import run_tuner

        nodes = alive_nodes()
        res = spec.model.resources
        check_trial_fits(nodes, res.cpu, res.gpu)
        check_shared_storage(storage, nodes)
        experiment_id = ensure_experiment(client, uri, spec.experiment)
        for orphan in sweep_orphans(client, experiment_id):
            print(f"marked KILLED: search {orphan}, whose process is gone", file=out, flush=True)
        parent = _start_parent(client, experiment_id, spec, strategy, source)
        where = f"{len(nodes)} Ray nodes" if len(nodes) > 1 else "local Ray"
        print(
            f"tracking: {display_uri(uri)} (experiment {spec.experiment}, search {parent}); "
            f"running on {where}",
            file=out,
            flush=True,
        )
        try:
            outcome = run_tuner(
                spec,
                strategy,
                source,
                client,
                experiment_id,
                parent,
                storage=storage,
                concurrency=res.max_concurrent or trial_slots(nodes, res.cpu, res.gpu),
                out=out,
            )
        except BaseException:
            client.set_terminated(parent, status="FAILED")
            raise
    interrupted = len(strategy.results) < strategy.planned_trials
    summary = _finish_parent(client, parent, spec, strategy, outcome, uri, interrupted)
    client.set_terminated(parent, status="KILLED" if interrupted else "FINISHED")
    summary.seconds = time.monotonic() - started
    _print_summary(summary, spec, out)
    return summary


def resolve_storage(path: str | None) -> str:
    """Ray's experiment storage: a URI as given, a local path made absolute."""
    chosen = path or str(DEFAULT_STORAGE)
    if "://" in chosen:
        return chosen
    return str(Path(chosen).expanduser().resolve())


def _start_parent(
    client: Any, experiment_id: str, spec: Spec, strategy: Strategy, source: DataSource
) -> str:
    """Create the search's parent run with the spec, strategy, seed and data source."""
    model = spec.model
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run = client.create_run(
        experiment_id,
        run_name=f"{spec.name}-{stamp}",
        tags={
            "searcher.kind": "search",
            "searcher.spec_file": spec.source,
            "searcher.spec": dump_yaml(spec.raw)[:7900],
            "searcher.data_source": source.kind,
            "searcher.data_description": source.description[:4900],
            "searcher.metric": model.metric.name,
            "searcher.mode": model.metric.mode,
            **owner_tags(),
        },
    )
    run_id = run.info.run_id
    from mlflow.entities import Param

    params = {
        "workload": spec.workload.name,
        "dataset": spec.data.dataset,
        "strategy": model.search.strategy,
        "seed": model.search.seed,
        "epochs": model.budget.epochs,
        "metric": model.metric.name,
        "mode": model.metric.mode,
        "planned_trials": strategy.planned_trials,
        "scheduler": model.scheduler.type,
        "resources.cpu": model.resources.cpu,
        "resources.gpu": model.resources.gpu,
    }
    client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])
    client.log_text(run_id, dump_yaml(spec.raw), "spec.yaml")
    return run_id


def _finish_parent(
    client: Any,
    parent: str,
    spec: Spec,
    strategy: Strategy,
    outcome: Any,
    uri: str,
    interrupted: bool,
) -> SearchSummary:
    """Record stage boxes, warnings and the best trial on the parent run."""
    from mlflow.entities import Metric, RunTag

    now = int(time.time() * 1000)
    best = strategy.best()
    warnings = strategy.warnings()
    tags: dict[str, str] = {}
    for record in strategy.boxes:
        tags[f"searcher.stage.{record.stage}.box"] = json.dumps(record.box)[:4900]
        tags[f"searcher.stage.{record.stage}.ranges"] = json.dumps(record.ranges)[:4900]
    if strategy.boxes:
        stages = [vars(r) for r in strategy.boxes]
        client.log_text(parent, json.dumps(stages, indent=2), "stages.json")
    if warnings:
        tags["searcher.warnings"] = "\n".join(warnings)[:4900]
    best_run_id = outcome.run_ids.get(best.key) if best else None
    if best:
        tags["searcher.best_trial"] = best.key
        tags["searcher.best_run_id"] = best_run_id or ""
    counts = dict(outcome.counts)
    metrics = [Metric(f"trials_{k.lower()}", float(v), now, 0) for k, v in counts.items()]
    if best and best.score is not None:
        metrics.append(Metric(f"best_{spec.model.metric.name}", float(best.score), now, 0))
    client.log_batch(parent, metrics=metrics, tags=[RunTag(k, v) for k, v in tags.items()])
    return SearchSummary(
        search_id=parent,
        experiment=spec.experiment,
        tracking_uri=uri,
        planned=strategy.planned_trials,
        counts=counts,
        best_key=best.key if best else None,
        best_score=best.score if best else None,
        best_params=dict(best.values) if best else {},
        best_run_id=best_run_id,
        warnings=warnings,
        interrupted=interrupted,
        run_ids=dict(outcome.run_ids),
    )


def _print_summary(summary: SearchSummary, spec: Spec, out: TextIO) -> None:
    counts = ", ".join(f"{v} {k.lower()}" for k, v in sorted(summary.counts.items()))
    say = lambda text: print(text, file=out, flush=True)  # noqa: E731
    head = "search interrupted" if summary.interrupted else "search finished"
    say(f"{head} in {fmt_duration(summary.seconds)}: {counts or 'no trials'}")
    for warning in summary.warnings:
        say(f"warning: {warning}")
    if summary.best_key is None:
        say("no trial finished with a metric")
        return
    names = list(summary.best_params)
    say(
        f"best trial {summary.best_key}: {spec.model.metric.name}={summary.best_score:.4f}  "
        f"{fmt_params(summary.best_params, names)}"
    )
    say(f"best run: {summary.best_run_id}  (search {summary.search_id})")
