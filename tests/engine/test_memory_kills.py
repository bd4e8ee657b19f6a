"""Ray's memory monitor killing a trial's worker: a dead worker, run again, then FAILED with the
reason, while the search goes on and exits 0 (it crashed the whole search before)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from ray.air.execution._internal.actor_manager import RayActorManager

from searcher.engine.memory_kills import memory_kill_reason, memory_kills_as_dead_workers
from searcher.tracking.queries import find_search, trial_runs
from tests.conftest import WORKLOAD_DIR, write_spec

RAY_SAYS = (
    "1 worker(s) were killed due to the node running low on memory. Memory on the node (IP: "
    "10.0.0.1, ID: ca7d) was 5.94GB used / 23.54GB limit (0.252291)\nOOM kill reason: ..."
)


def test_the_reason_is_one_line_with_what_the_node_had() -> None:
    assert memory_kill_reason(RAY_SAYS) == (
        "out of memory: Ray's memory monitor killed the trial's worker (the node had 5.94GB of "
        "23.54GB in use); set resources.memory to run fewer trials at once"
    )
    assert "(the node" not in memory_kill_reason("worded otherwise")


def test_the_hook_is_tunes_and_is_put_back() -> None:
    """A Tune upgrade that renames the hook fails here by name (the crash would be back)."""
    original = RayActorManager._actor_task_failed
    with memory_kills_as_dead_workers():
        assert RayActorManager._actor_task_failed is not original
    assert RayActorManager._actor_task_failed is original


def _memory_in_use() -> tuple[int, int]:
    info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
    total, available = (int(info[k].split()[0]) * 1024 for k in ("MemTotal", "MemAvailable"))
    return total - available, total


@pytest.mark.integration
def test_a_worker_killed_for_memory_is_retried_then_failed_and_the_search_goes_on(
    tmp_path: Path,
) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    spec = {
        "name": "memory_kill",
        "workload": "limits:fit",
        "code_dir": str(WORKLOAD_DIR),
        "metric": {"name": "score", "mode": "max"},
        "budget": {"epochs": 2},
        "space": {"mode": ["leaks", "ok"], "pids": str(pids)},
        "search": {"strategy": "grid"},
        "resources": {"max_concurrent": 1},
    }
    path = write_spec(tmp_path / "spec.yaml", spec)
    used, total = _memory_in_use()
    # Ray's monitor acts once the node uses 2.5 GB more than now (Ray's own processes included).
    threshold = min(0.95, (used + 2.5e9) / total)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["RAY_memory_usage_threshold"] = f"{threshold:.3f}"
    store = tmp_path / "mlruns.db"
    done = subprocess.run(
        [sys.executable, "-m", "searcher.cli", "run", str(path), "--tracking-uri", str(store)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Traceback" not in output and output.count("running it again") == 2, output
    client = MlflowClient(f"sqlite:///{store}")
    runs = {
        r.data.params["mode"]: r for r in trial_runs(client, find_search(client, "memory_kill"))
    }
    leaks, ok = runs["leaks"], runs["ok"]
    assert (leaks.info.status, ok.info.status) == ("FAILED", "FINISHED")
    assert leaks.data.tags["searcher.error"].startswith(
        "out of memory: Ray's memory monitor killed the trial's worker"
    )
    assert leaks.data.tags["searcher.retries"] == "2"
