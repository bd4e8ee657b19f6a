"""Tune's callback through the pipeline into a real store: runs, statuses, scores, records."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from ray.tune.experiment import Trial as TuneTrial

from search_spaces.space import SearchSpace
from search_spaces.trial import Trial
from searcher.console.lines import ProgressPrinter
from searcher.console.sink import ConsoleSink
from searcher.engine.listener import RAISED, OutcomeListener
from searcher.engine.outcomes import TrialOutcomes
from searcher.engine.protocol import Control, pack
from searcher.events import Publisher
from searcher.tracking.recorder import RunRecorder
from searcher.tracking.records import read_trial_record
from searcher.tracking.sink import TrackingSink
from searcher.tracking.store import ensure_experiment, open_store

SPACE = SearchSpace.from_mapping({"lr": {"scale": "log", "low": 1e-3, "high": 1.0}})


class Pipeline:
    """The wiring the controller does, on a real SQLite store."""

    def __init__(self, client: MlflowClient, experiment: str, flush: float = 0.05) -> None:
        self.client, self.experiment = client, experiment
        search_id = client.create_run(experiment).info.run_id
        self.recorder = RunRecorder(client, experiment, search_id, flush_seconds=flush)
        self.out = io.StringIO()
        progress = ProgressPrinter("acc", "max", 5, ["lr"], self.out)
        self.console = ConsoleSink(progress, self.recorder.stored)
        sinks = [TrackingSink(self.recorder, SPACE, "acc"), self.console]
        self.outcomes = TrialOutcomes("acc", "max", 3, Publisher(sinks))
        self.listener = OutcomeListener(self.outcomes)

    def start(self, trial_id: str, key: str) -> TuneTrial:
        trial = Trial(key, 1, {"lr": 0.333}, {"lr": 0.01})
        self.outcomes.suggested(trial_id, trial)
        stub = TuneTrial("__fake", config=trial.to_wire(), trial_id=trial_id, stub=True)
        self.listener.on_trial_start(0, [], stub)
        return stub

    def report(self, stub: TuneTrial, metrics: dict, **control: object) -> None:
        wire = pack(metrics, Control(**control))  # type: ignore[arg-type]
        self.listener.on_trial_result(0, [], stub, wire)

    def runs(self) -> dict[str, object]:
        self.recorder.close()
        self.console.close()
        runs = self.client.search_runs([self.experiment], "tags.`searcher.kind` = 'trial'")
        return {r.data.tags["searcher.trial_key"]: r for r in runs}


@pytest.fixture
def store(tmp_path: Path) -> tuple[MlflowClient, str]:
    uri = "sqlite:///" + str(tmp_path / "mlruns.db")
    client = open_store(uri)
    return client, ensure_experiment(client, uri, "pipeline")


def test_statuses_scores_errors_and_records_land_on_the_runs(store: tuple) -> None:
    p = Pipeline(*store)
    done = p.start("a", "1-000")
    for epoch, acc in ((1, 0.5), (2, 0.9), (3, 0.8)):
        p.report(done, {"epoch": epoch, "acc": acc})
    p.listener.on_trial_complete(0, [], done)

    diverged = p.start("b", "1-001")
    p.report(diverged, {"epoch": 1, "acc": 0.4})
    p.report(diverged, {}, failed="train loss became nan")
    p.listener.on_trial_complete(0, [], diverged)

    raised = p.start("c", "1-002")
    p.listener.on_trial_error(0, [], raised)

    typo = p.start("d", "1-003")
    p.report(typo, {"epoch": 3, "accuracy": 0.7})
    p.listener.on_trial_complete(0, [], typo)

    stopped = p.start("e", "1-004")
    p.report(stopped, {"epoch": 1, "acc": 0.6}, output={"stdout": "epoch=1 acc=0.6\n"})
    p.listener.on_trial_complete(0, [], stopped)

    runs = p.runs()
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
    tags = {k: r.data.tags for k, r in runs.items()}  # type: ignore[attr-defined]
    errors = {k: t.get("searcher.error") for k, t in tags.items()}
    assert errors["1-000"] is None
    assert errors["1-001"] == "train loss became nan"
    assert errors["1-002"] == RAISED
    assert errors["1-003"] == "no acc was reported (reported: accuracy)"
    assert errors["1-004"] == "stopped early after 1 of 3 epochs"
    assert tags["1-004"].get("searcher.stopped_early") == "true"
    assert "searcher.stopped_early" not in tags["1-000"]
    for key, run_tags in tags.items():
        assert read_trial_record(run_tags["searcher.trial"]) == Trial(
            key, 1, {"lr": 0.333}, {"lr": 0.01}
        )
    client = p.client
    history = client.get_metric_history(runs["1-000"].info.run_id, "acc")  # type: ignore[attr-defined]
    assert [(m.step, m.value) for m in history] == [(1, 0.5), (2, 0.9), (3, 0.8)]
    stdout = client.download_artifacts(runs["1-004"].info.run_id, "stdout.txt")  # type: ignore[attr-defined]
    assert Path(stdout).read_text() == "epoch=1 acc=0.6\n"
    lines = p.out.getvalue().splitlines()
    assert len(lines) == 5 and "1-001 FAILED" in lines[1] and "acc=0.4000" in lines[1]
    assert "stopped early after 1 of 3 epochs" in lines[4]


def test_an_interrupt_marks_running_trials_killed(store: tuple) -> None:
    p = Pipeline(*store)
    running = p.start("a", "1-000")
    p.report(running, {"epoch": 1, "acc": 0.5})
    finished = p.start("b", "1-001")
    for epoch in (1, 2, 3):
        p.report(finished, {"epoch": epoch, "acc": 0.7})
    p.listener.on_trial_complete(0, [], finished)
    p.outcomes.interrupted()
    runs = p.runs()
    assert runs["1-000"].info.status == "KILLED"  # type: ignore[attr-defined]
    assert runs["1-000"].data.tags["searcher.error"] == "the search was interrupted"  # type: ignore[attr-defined]
    assert runs["1-001"].info.status == "FINISHED"  # type: ignore[attr-defined]


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
    store: tuple, tmp_path: Path, fail: bool
) -> None:
    gate = threading.Event()
    client = _SlowStore("sqlite:///" + str(tmp_path / "mlruns.db"), gate, fail)
    p = Pipeline(client, store[1], flush=1.0)
    trial = p.start("a", "1-000")
    for epoch in (1, 2, 3):
        p.report(trial, {"epoch": epoch, "acc": 0.5})
    p.listener.on_trial_complete(0, [], trial)
    time.sleep(0.5)
    p.listener.on_step_end(0, [])
    assert p.out.getvalue() == "", "printed before the store had the trial's end"
    gate.set()
    p.recorder.close()
    run = client.search_runs([store[1]], "tags.`searcher.trial_key` = '1-000'")[0]
    p.listener.on_step_end(0, [])
    line = p.out.getvalue()
    if fail:
        assert run.info.status == "RUNNING"
        assert "1-000 UNSTORED" in line and "FINISHED" not in line.split("1-000")[1][:12]
        assert "(ended FINISHED; not in the store: ConnectionError: the database went away)" in line
    else:
        assert run.info.status == "FINISHED"
        assert "1-000 FINISHED" in line and "UNSTORED" not in line and "lacks" not in line
