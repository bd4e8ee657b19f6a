"""Many trials reporting fast, through a real `searcher run`: every result lands in the store.

16 trials at once, each reporting every 0.1 s (~160 results/s into the driver), as a big
cluster would. Also checked on the same run: the phase tags of a search, the SQLite store's
write-ahead log folded in at exit, and a local Ray started without its dashboard.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from mlflow import MlflowClient

from searcher.tracking import tags as T
from searcher.tracking.queries import find_search, trial_runs
from tests.conftest import WORKLOAD_DIR, write_spec
from tests.processes import start_searcher

pytestmark = pytest.mark.integration

TRIALS, EPOCHS = 16, 20


def test_sixteen_fast_reporting_trials_lose_nothing(tmp_path: Path) -> None:
    spec = write_spec(
        tmp_path / "stress.yaml",
        {
            "name": "stress",
            "workload": "paced:fit",
            "metric": {"name": "score", "mode": "max"},
            "space": {
                "lr": {"scale": "log", "low": 1e-4, "high": 1.0},
                "width": {"scale": "pow2", "low": 8, "high": 128},
                "epochs": EPOCHS,
                "pace": 0.1,
            },
            "search": {"strategy": "random", "seed": 0, "trials": TRIALS},
            "resources": {"cpu": 2 / TRIALS, "max_concurrent": TRIALS},
        },
    )
    store = tmp_path / "mlruns.db"
    env = {**os.environ, "PYTHONPATH": str(WORKLOAD_DIR)}
    with open(tmp_path / "run.log", "w") as log:
        proc = start_searcher(
            ["run", str(spec), "--tracking-uri", str(store), "--storage-path", str(tmp_path)],
            log,
            env=env,
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

    run = client.get_run(search.id)
    phases = {
        k.removeprefix(T.PHASE): float(v) for k, v in run.data.tags.items() if k.startswith(T.PHASE)
    }
    assert set(phases) >= {"imports", "store", "ray", "search_run", "trials_done", "recorded"}
    assert 0 < phases["imports"] <= phases["ray"] <= phases["search_run"]
    assert phases["store"] <= phases["search_run"] <= phases["trials_done"] <= phases["recorded"]


LIST_RAY_PROCESSES = textwrap.dedent(
    """
    import json, os
    from searcher.engine.session import ray_session

    def descendants(pid):
        kids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = open(f"/proc/{entry}/stat").read()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(entry))
        return kids + [d for k in kids for d in descendants(k)]

    def cmdline(pid):
        try:
            return open(f"/proc/{pid}/cmdline").read().replace("\\0", " ")
        except OSError:
            return ""

    with ray_session(None):
        found = [cmdline(p) for p in descendants(os.getpid())]
    from ray._private import node, parameter

    restored = (node.Node.start_api_server.__name__, parameter.RayParams.__init__.__name__)
    print(json.dumps({"processes": found, "hooks": restored}))
    """
)


def _ray_processes(env: dict[str, str]) -> list[str]:
    """The command lines of what a local ray_session started, in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", LIST_RAY_PROCESSES],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    ).stdout
    found = json.loads(out.strip().splitlines()[-1])
    assert found["hooks"] == ["start_api_server", "__init__"], "Ray's hooks are put back"
    return found["processes"]


def test_a_local_ray_starts_without_dashboard_and_monitors() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SEARCHER_RAY_DASHBOARD"}
    lean = " ".join(_ray_processes(env))
    assert "gcs_server" in lean and "raylet" in lean
    for absent in ("dashboard/dashboard.py", "autoscaler/_private/monitor.py", "log_monitor.py"):
        assert absent not in lean, absent
    full = " ".join(_ray_processes({**env, "SEARCHER_RAY_DASHBOARD": "1"}))
    assert "dashboard/dashboard.py" in full, "asked for, the dashboard starts"
