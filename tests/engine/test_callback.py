"""The tracking callback: each trial's run, status, score and output, as the trial book decides."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from ray.tune.experiment import Trial

from search_spaces.space import SearchSpace
from searcher.console.lines import ProgressPrinter
from searcher.engine.callback import TrackingCallback
from searcher.engine.protocol import FAILED, OUTPUT, RAISED, TrialBook, TrialConfig
from searcher.tracking.recorder import RunRecorder
from searcher.tracking.store import ensure_experiment, open_store

SPACE = SearchSpace.from_mapping({"lr": {"scale": "log", "low": 1e-3, "high": 1.0}})


@pytest.fixture
def setup(tmp_path: Path) -> dict:
    uri = "sqlite:///" + str(tmp_path / "mlruns.db")
    client = open_store(uri)
    experiment = ensure_experiment(client, uri, "callback")
    parent = client.create_run(experiment).info.run_id
    recorder = RunRecorder(client, experiment, parent, flush_seconds=0.05)
    book = TrialBook("acc", "max", epochs=3)
    out = io.StringIO()
    progress = ProgressPrinter("acc", "max", 5, ["lr"], out)
    return {
        "client": client,
        "recorder": recorder,
        "book": book,
        "out": out,
        "callback": TrackingCallback(recorder, book, SPACE, progress),
    }


def _start(setup: dict, trial_id: str, key: str) -> Trial:
    config = TrialConfig(key, 1, {"lr": 0.01}, {"lr": 0.333})
    setup["book"].open(trial_id, config)
    trial = Trial("__fake", config=config.to_dict(), trial_id=trial_id, stub=True)
    setup["callback"].on_trial_start(0, [], trial)
    return trial


def _results(setup: dict, trial: Trial, results: list[dict]) -> None:
    for result in results:
        setup["callback"].on_trial_result(0, [], trial, result)


def _runs(setup: dict) -> dict[str, object]:
    setup["recorder"].close()
    setup["callback"].print_stored(final=True)
    client: MlflowClient = setup["client"]
    experiment = client.get_experiment_by_name("callback").experiment_id
    runs = client.search_runs([experiment], "tags.`searcher.kind` = 'trial'")
    return {r.data.tags["searcher.trial_key"]: r for r in runs}


def test_statuses_scores_and_errors_land_on_the_runs(setup: dict) -> None:
    callback = setup["callback"]
    done = _start(setup, "a", "1-000")
    _results(setup, done, [{"epoch": e, "acc": a} for e, a in ((1, 0.5), (2, 0.9), (3, 0.8))])
    callback.on_trial_complete(0, [], done)

    diverged = _start(setup, "b", "1-001")
    _results(setup, diverged, [{"epoch": 1, "acc": 0.4}, {FAILED: "train loss became nan"}])
    callback.on_trial_complete(0, [], diverged)

    raised = _start(setup, "c", "1-002")
    setup["book"].verdict("c", RAISED)  # the Searcher adapter hears of it first
    callback.on_trial_error(0, [], raised)

    typo = _start(setup, "d", "1-003")
    _results(setup, typo, [{"epoch": 3, "accuracy": 0.7}])
    callback.on_trial_complete(0, [], typo)

    stopped = _start(setup, "e", "1-004")
    _results(setup, stopped, [{"epoch": 1, "acc": 0.6, OUTPUT: {"stdout": "epoch=1 acc=0.6\n"}}])
    callback.on_trial_complete(0, [], stopped)

    runs = _runs(setup)
    status = {k: r.info.status for k, r in runs.items()}  # type: ignore[attr-defined]
    assert status == {
        "1-000": "FINISHED",
        "1-001": "FAILED",
        "1-002": "FAILED",
        "1-003": "FAILED",
        "1-004": "FINISHED",
    }
    metrics = {k: r.data.metrics for k, r in runs.items()}  # type: ignore[attr-defined]
    assert metrics["1-000"]["best_acc"] == 0.9
    assert metrics["1-001"]["best_acc"] == 0.4, "a failed trial keeps how far it got"
    assert "best_acc" not in metrics["1-003"]
    errors = {k: r.data.tags.get("searcher.error") for k, r in runs.items()}  # type: ignore[attr-defined]
    assert errors["1-000"] is None
    assert errors["1-001"] == "train loss became nan"
    assert errors["1-002"] == RAISED
    assert errors["1-003"] == "no acc was reported (reported: accuracy)"
    history = setup["client"].get_metric_history(runs["1-000"].info.run_id, "acc")  # type: ignore[attr-defined]
    assert [(m.step, m.value) for m in history] == [(1, 0.5), (2, 0.9), (3, 0.8)]
    stdout = setup["client"].download_artifacts(runs["1-004"].info.run_id, "stdout.txt")  # type: ignore[attr-defined]
    assert Path(stdout).read_text() == "epoch=1 acc=0.6\n"
    lines = setup["out"].getvalue().splitlines()
    assert len(lines) == 5 and "1-001 FAILED" in lines[1] and "acc=0.4000" in lines[1]
    assert [v.status for v in setup["book"].ended] == [
        "FINISHED",
        "FAILED",
        "FAILED",
        "FAILED",
        "FINISHED",
    ]
    assert setup["book"].ended[-1].stopped_early
    tags = {k: r.data.tags for k, r in runs.items()}  # type: ignore[attr-defined]
    assert tags["1-004"].get("searcher.stopped_early") == "true"
    assert "searcher.stopped_early" not in tags["1-000"]
    assert "stopped early after 1 of 3 epochs" in lines[4]


def test_an_interrupt_marks_running_trials_killed(setup: dict) -> None:
    running = _start(setup, "a", "1-000")
    _results(setup, running, [{"epoch": 1, "acc": 0.5}])
    finished = _start(setup, "b", "1-001")
    _results(setup, finished, [{"epoch": e, "acc": 0.7} for e in (1, 2, 3)])
    setup["callback"].on_trial_complete(0, [], finished)
    setup["callback"].mark_unfinished()
    runs = _runs(setup)
    assert runs["1-000"].info.status == "KILLED"  # type: ignore[attr-defined]
    assert runs["1-000"].data.tags["searcher.error"] == "the search was interrupted"  # type: ignore[attr-defined]
    assert runs["1-001"].info.status == "FINISHED"  # type: ignore[attr-defined]
    assert len(setup["book"].ended) == 1, "an interrupted trial has no verdict of its own"


class _SlowStore(MlflowClient):
    """A real store whose end-of-run write waits for a signal (or fails): a slow database."""

    def __init__(self, uri: str, gate: threading.Event, fail: bool = False) -> None:
        super().__init__(tracking_uri=uri)
        self.gate, self.fail = gate, fail

    def set_terminated(self, run_id: str, status: str | None = None, end_time=None) -> None:  # type: ignore[no-untyped-def]
        self.gate.wait(30)
        if self.fail:
            raise ConnectionError("the database went away")
        super().set_terminated(run_id, status, end_time)


@pytest.mark.parametrize("fail", [False, True])
def test_a_trial_is_printed_as_ended_only_once_the_store_has_it(
    setup: dict, tmp_path: Path, fail: bool
) -> None:
    gate = threading.Event()
    uri = "sqlite:///" + str(tmp_path / "mlruns.db")
    client = _SlowStore(uri, gate, fail)
    experiment = client.get_experiment_by_name("callback").experiment_id
    recorder = RunRecorder(client, experiment, client.create_run(experiment).info.run_id)
    out = io.StringIO()
    callback = TrackingCallback(
        recorder, setup["book"], SPACE, ProgressPrinter("acc", "max", 1, ["lr"], out)
    )
    setup["callback"] = callback
    trial = _start(setup, "a", "1-000")
    _results(setup, trial, [{"epoch": e, "acc": 0.5} for e in (1, 2, 3)])
    callback.on_trial_complete(0, [], trial)
    time.sleep(0.5)
    callback.on_step_end(0, [])
    assert out.getvalue() == "", "printed before the store had the trial's end"
    gate.set()
    recorder.close()
    run = client.search_runs([experiment], "tags.`searcher.trial_key` = '1-000'")[0]
    callback.on_step_end(0, [])
    line = out.getvalue()
    if fail:
        assert run.info.status == "RUNNING"
        assert "1-000 FINISHED" in line and "not in the store: ConnectionError" in line
    else:
        assert run.info.status == "FINISHED"
        assert "1-000 FINISHED" in line and "not in the store" not in line
