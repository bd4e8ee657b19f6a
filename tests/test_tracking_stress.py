"""Many trials reporting fast, through a real `searcher run`: every result lands in the store.

16 trials at once, each reporting every 0.1 s (~160 results/s into the driver), as a big
cluster would. Also checked on the same run: the phase tags of a search, the SQLite store's
write-ahead log folded in at exit, and a local Ray started without its dashboard.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from mlflow import MlflowClient

from searcher.tracking import tags as T
from searcher.tracking.queries import find_search, trial_runs
from tests.conftest import paced_spec, write_spec
from tests.processes import descendants, start_searcher

pytestmark = pytest.mark.integration

TRIALS, EPOCHS = 16, 20


def test_sixteen_fast_reporting_trials_lose_nothing(tmp_path: Path) -> None:
    raw = paced_spec("stress", pace=0.1)
    raw["space"]["epochs"] = EPOCHS
    raw["search"] = {"strategy": "random", "seed": 0, "trials": TRIALS}
    raw["resources"] = {"cpu": 2 / TRIALS, "max_concurrent": TRIALS}
    spec = write_spec(tmp_path / "stress.yaml", raw)
    store = tmp_path / "mlruns.db"
    with open(tmp_path / "run.log", "w") as log:
        proc = start_searcher(
            ["run", str(spec), "--tracking-uri", str(store), "--storage-path", str(tmp_path)],
            log,
        )
        assert proc.wait(timeout=600) == 0, (tmp_path / "run.log").read_text()

    # The connections were closed at exit: the write-ahead log is folded into the file.
    wal = store.with_name(store.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0

    client = MlflowClient(f"sqlite:///{store}")
    search = find_search(client, "stress")
    runs = trial_runs(client, search)
    assert len(runs) == TRIALS
    assert {r.info.status for r in runs} == {"FINISHED"}
    for run in runs:
        history = client.get_metric_history(run.info.run_id, "score")
        assert sorted(m.step for m in history) == list(range(1, EPOCHS + 1)), run.info.run_name

    run = client.get_run(search.search_id)
    phases = {
        k.removeprefix(T.PHASE): float(v) for k, v in run.data.tags.items() if k.startswith(T.PHASE)
    }
    assert set(phases) >= {"imports", "store", "ray", "search_run", "trials_done", "recorded"}
    assert 0 < phases["imports"] <= phases["ray"] <= phases["search_run"]
    assert phases["store"] <= phases["search_run"] <= phases["trials_done"] <= phases["recorded"]


# Starts a local Ray as a search does, says so, and holds it until its stdin closes.
HOLD_A_LOCAL_RAY = textwrap.dedent(
    """
    import sys
    from searcher.engine.session import ray_session

    with ray_session(None):
        print("ready", flush=True)
        sys.stdin.read()
    from ray._private import node, parameter

    print(node.Node.start_api_server.__name__, parameter.RayParams.__init__.__name__)
    """
)


def _ray_processes(env: dict[str, str]) -> str:
    """The command lines of what a local ray_session started, in a fresh process."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_LOCAL_RAY],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "ready"
        found = " ".join(descendants(proc.pid).values())
        proc.stdin.close()
        assert proc.stdout.read().split() == ["start_api_server", "__init__"], "hooks put back"
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    return found


def test_a_local_ray_starts_without_dashboard_and_monitors() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SEARCHER_RAY_DASHBOARD"}
    lean = _ray_processes(env)
    assert "gcs_server" in lean and "raylet" in lean
    for absent in ("dashboard/dashboard.py", "autoscaler/_private/monitor.py", "log_monitor.py"):
        assert absent not in lean, absent
    full = _ray_processes({**env, "SEARCHER_RAY_DASHBOARD": "1"})
    assert "dashboard/dashboard.py" in full, "asked for, the dashboard starts"
