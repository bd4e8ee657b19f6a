"""The search's parent run: what it records when a search starts and when it ends."""

from __future__ import annotations

import json
import time

from mlflow.entities import Metric
from mlflow.tracking import MlflowClient

from search_spaces.strategies.base import StageRecord
from search_spaces.trial import TrialResult
from searcher.phases import Phases
from searcher.spec import Spec
from searcher.spec.normalise import normalised, stage_plan
from searcher.tracking import tags as T
from searcher.tracking.claim import release_search
from searcher.tracking.earlier import warm_start_tags
from searcher.tracking.orphans import owner_tags
from searcher.tracking.records import SearchRecord, WarmStartRecord
from searcher.tracking.runs import log_long_tags, log_params, start_spec_run
from trials.config import DataSource


def start_search_run(
    client: MlflowClient,
    experiment_id: str,
    spec: Spec,
    planned: int,
    source: DataSource | None,
    warm_start: WarmStartRecord | None = None,
) -> str:
    """Create the search's run with its record (the normalised spec and stage plan), the spec
    as written, the strategy, seed and data source, and where a warm start began."""
    model = spec.model
    record = SearchRecord(normalised(spec), stage_plan(spec, planned), planned)
    tags = {
        T.METRIC: model.metric.name,
        T.MODE: model.metric.mode,
        T.SEARCH_RECORD: record.to_json(),
        **owner_tags(),
    }
    if source is not None:
        tags |= {T.DATA_SOURCE: source.kind, T.DATA_DESCRIPTION: source.description}
    if warm_start is not None:
        tags |= warm_start_tags(warm_start)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_id = start_spec_run(
        client, experiment_id, spec, kind=T.KIND_SEARCH, run_name=f"{spec.name}-{stamp}", tags=tags
    )
    params: dict[str, object] = {
        "workload": spec.workload.name,
        "strategy": model.search.strategy,
        "seed": model.search.seed,
        "epochs": spec.epochs,
        "metric": model.metric.name,
        "mode": model.metric.mode,
        "planned_trials": planned,
        "scheduler": model.scheduler.type,
        "resources.cpu": model.resources.cpu,
        "resources.gpu": model.resources.gpu,
    }
    if not spec.workload.owns_data:
        params["dataset"] = spec.data.dataset
    log_params(client, run_id, params)
    return run_id


def finish_search_run(
    client: MlflowClient,
    run_id: str,
    *,
    metric: str,
    boxes: list[StageRecord],
    best: TrialResult | None,
    best_run_id: str | None,
    counts: dict[str, int],
    warnings: list[str],
    logging_errors: list[str],
    status: str,
    error: str | None = None,
    phases: Phases | None = None,
    ended_by: str | None = None,
) -> None:
    """Record stage boxes, warnings, logging errors, the best trial and where the time went
    (``phases``), then end the run."""
    tags: dict[str, str] = {}
    if phases is not None:
        phases.mark("recorded")
        tags.update(phases.tags(T.PHASE))
    for record in boxes:
        tags[T.stage_tag(record.stage, "box")] = json.dumps(record.box)
        tags[T.stage_tag(record.stage, "ranges")] = json.dumps(record.ranges)
        if record.branches:
            tags[T.stage_tag(record.stage, "branches")] = json.dumps(record.branches)
    if boxes:
        records = [{k: v for k, v in vars(r).items() if k != "branches" or v} for r in boxes]
        client.log_text(run_id, json.dumps(records, indent=2), "stages.json")
    if warnings:
        tags[T.WARNINGS] = "\n".join(warnings)
    if logging_errors:
        tags[T.LOGGING_ERRORS] = "\n".join(logging_errors)
    if error:
        tags[T.ERROR] = error
    if ended_by:
        tags[T.ENDED_BY] = ended_by
    if best is not None:
        tags[T.BEST_TRIAL] = best.key
        tags[T.BEST_RUN_ID] = best_run_id or ""
    log_long_tags(client, run_id, tags)
    now = int(time.time() * 1000)
    metrics = [Metric(f"trials_{k.lower()}", float(v), now, 0) for k, v in counts.items()]
    if best is not None and best.score is not None:
        metrics.append(Metric(T.best_metric(metric), float(best.score), now, 0))
    client.log_batch(run_id, metrics=metrics)
    end_search_run(client, run_id, status)


def end_search_run(client: MlflowClient, run_id: str, status: str) -> None:
    """End the parent run (without a summary when the search broke before it had one), and
    release it: a later `searcher resume` may claim it."""
    client.set_terminated(run_id, status=status)
    release_search(client, run_id)
