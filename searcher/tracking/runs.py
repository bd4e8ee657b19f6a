"""What every run searcher starts records alike: its kind, its spec, and tags of any length."""

from __future__ import annotations

from typing import Any

from mlflow.entities import Param, RunTag
from mlflow.tracking import MlflowClient

from searcher.spec import Spec
from searcher.spec.yaml_io import dump_yaml
from searcher.tracking import tags as T


def log_long_tags(client: MlflowClient, run_id: str, tags: dict[str, str]) -> None:
    """Set tags; a value too long for a tag goes to an artifact that the tag points to."""
    short, overflow = T.split_long(tags)
    for path, text in overflow.items():
        client.log_text(run_id, text, path)
    items = [RunTag(k, v) for k, v in short.items()]
    for start in range(0, len(items), T.MAX_PARAMS_TAGS_PER_BATCH):
        client.log_batch(run_id, tags=items[start : start + T.MAX_PARAMS_TAGS_PER_BATCH])


def log_params(client: MlflowClient, run_id: str, params: dict[str, Any]) -> None:
    """Params as text (MLflow's form), each cut to MLflow's limit, in batches it accepts."""
    items = [Param(k, T.clip(str(v), T.MAX_PARAM_VALUE)) for k, v in params.items()]
    for start in range(0, len(items), T.MAX_PARAMS_TAGS_PER_BATCH):
        client.log_batch(run_id, params=items[start : start + T.MAX_PARAMS_TAGS_PER_BATCH])


def start_spec_run(
    client: MlflowClient,
    experiment_id: str,
    spec: Spec,
    *,
    kind: str,
    run_name: str,
    tags: dict[str, str],
) -> str:
    """Create a run of ``kind`` that keeps its spec (tag and ``spec.yaml``) and code folder."""
    run = client.create_run(experiment_id, run_name=run_name, tags={T.KIND: kind})
    run_id = run.info.run_id
    spec_text = dump_yaml(spec.raw)
    base = {T.SPEC_FILE: spec.source, T.SPEC: spec_text, T.CODE_DIR: spec.code_dir}
    log_long_tags(client, run_id, {**base, **tags})
    client.log_text(run_id, spec_text, "spec.yaml")
    return run_id
