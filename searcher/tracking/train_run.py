"""The MLflow run of ``searcher train``: one top-level run per training of one configuration."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, RunTag
from mlflow.tracking import MlflowClient

from searcher.spec import Spec
from searcher.tracking import tags as T
from searcher.tracking.mirrors import numeric_mirrors
from searcher.tracking.runs import log_params, start_spec_run


class TrainRun:
    """Logs one training run: its setup, per-epoch metrics, the saved model and its end."""

    def __init__(self, client: MlflowClient, run_id: str) -> None:
        self.client, self.run_id = client, run_id

    @classmethod
    def start(
        cls,
        client: MlflowClient,
        experiment_id: str,
        spec: Spec,
        params: dict[str, Any],
        centred: list[str],
        setup: dict[str, Any],
        data_kind: str,
    ) -> TrainRun:
        """A run (searcher.kind=train) with the values trained and how they were chosen."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        tags = {T.DATA_SOURCE: data_kind, T.CENTRED_PARAMS: ",".join(centred)}
        run_id = start_spec_run(
            client,
            experiment_id,
            spec,
            kind=T.KIND_TRAIN,
            run_name=f"{spec.name}-train-{stamp}",
            tags=tags,
        )
        log_params(client, run_id, {**params, **setup})
        now = int(time.time() * 1000)
        mirrors = numeric_mirrors(spec.space, params, {})
        client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in mirrors.items()])
        return cls(client, run_id)

    def epoch(self, step: int, metrics: dict[str, float]) -> None:
        now = int(time.time() * 1000)
        items = [Metric(k, float(v), now, step) for k, v in metrics.items()]
        self.client.log_batch(self.run_id, metrics=items)

    def model(self, path: Path) -> None:
        self.client.log_artifact(self.run_id, str(path))
        self.client.log_batch(self.run_id, tags=[RunTag(T.MODEL_PATH, str(path))])

    def end(self, status: str, error: str | None = None) -> None:
        if error:
            self.client.log_batch(self.run_id, tags=[RunTag(T.ERROR, T.clip(error))])
        self.client.set_terminated(self.run_id, status=status)
