"""Batched driver-side logging: every event lands, in order, as nested runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from searcher.tracking.recorder import RunRecorder
from searcher.tracking.store import ensure_experiment, open_store


def test_recorder_writes_runs_metrics_and_statuses(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/mlruns.db"
    client = open_store(uri)
    exp = ensure_experiment(client, uri, "rec")
    parent = client.create_run(exp, tags={"searcher.kind": "search"}).info.run_id
    recorder = RunRecorder(client, exp, parent, flush_seconds=0.05)
    for i in range(5):
        key = f"1-{i:03d}"
        tags = {"searcher.trial_key": key, "searcher.stage": "1"}
        recorder.trial_started(key, tags, {"lr": 0.1 * (i + 1), "opt": "adam"}, {"hp/lr": 0.1})
        for epoch in range(1, 4):
            recorder.trial_metrics(key, epoch, {"val_loss": 1.0 / epoch, "acc": 0.1 * epoch})
        status = ["FINISHED", "FAILED", "KILLED"][i % 3]
        recorder.trial_ended(key, status, "boom" if status == "FAILED" else None)
    recorder.close()
    assert recorder.errors == []

    runs = MlflowClient(uri).search_runs([exp], f"tags.`mlflow.parentRunId` = '{parent}'")
    assert len(runs) == 5
    by_key = {r.data.tags["searcher.trial_key"]: r for r in runs}
    assert [by_key[f"1-{i:03d}"].info.status for i in range(5)] == [
        "FINISHED",
        "FAILED",
        "KILLED",
        "FINISHED",
        "FAILED",
    ]
    assert by_key["1-001"].data.tags["searcher.error"] == "boom"
    history = client.get_metric_history(by_key["1-002"].info.run_id, "val_loss")
    assert [(m.step, round(m.value, 3)) for m in history] == [(1, 1.0), (2, 0.5), (3, 0.333)]
    assert by_key["1-004"].data.params == {"lr": "0.5", "opt": "adam"}
    assert by_key["1-004"].data.metrics["hp/lr"] == 0.1
    assert by_key["1-004"].info.run_name == "1-004"


def test_a_tag_too_long_for_mlflow_goes_to_an_artifact_it_points_to(tmp_path: Path) -> None:
    from searcher.tracking import tags as T

    uri = f"sqlite:///{tmp_path}/mlruns.db"
    client = open_store(uri)
    exp = ensure_experiment(client, uri, "rec")
    parent = client.create_run(exp).info.run_id
    recorder = RunRecorder(client, exp, parent, flush_seconds=0.05)
    long = "x" * (T.MAX_TAG_VALUE + 10)
    recorder.trial_started("1-000", {T.TRIAL_RECORD: long, T.TRIAL_KEY: "1-000"}, {}, {})
    recorder.trial_ended("1-000", "FINISHED")
    recorder.close()
    [run] = client.search_runs([exp], f"tags.`{T.PARENT}` = '{parent}'")
    assert run.data.tags[T.TRIAL_RECORD].startswith(T.ARTIFACT_POINTER)
    assert T.resolve_tag(client, run, T.TRIAL_RECORD) == long


def test_writes_that_lose_the_connection_are_tried_again_others_are_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sqlalchemy.exc import OperationalError

    from searcher.tracking import recorder

    monkeypatch.setattr(recorder, "RETRY_DELAYS", (0.0, 0.0, 0.0))
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            try:
                raise OperationalError("UPDATE runs", {}, Exception("server closed the connection"))
            except OperationalError as exc:
                raise RuntimeError("mlflow wrapped it") from exc
        return "written"

    assert recorder.retrying(flaky) == "written" and len(calls) == 3

    def wrong() -> None:
        calls.append(1)
        raise ValueError("invalid metric name")

    calls.clear()
    with pytest.raises(ValueError):
        recorder.retrying(wrong)
    assert len(calls) == 1, "an error that is not a lost connection is not retried"
    calls.clear()
    with pytest.raises(ConnectionError):
        recorder.retrying(lambda: calls.append(1) or (_ for _ in ()).throw(ConnectionError()))
    assert len(calls) == 4, "tried once per delay and once more, then the error stands"
