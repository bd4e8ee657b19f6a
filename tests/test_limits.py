"""A trial's limits on a real Ray: `budget.trial_timeout` and `resources.memory`.

A trial past its limit is FAILED with the reason, is not run again, and its worker process
(and whatever it started) is gone, while the other trials of the search finish.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from searcher.cli import cli
from searcher.tracking.queries import find_search, trial_runs
from tests.conftest import WORKLOAD_DIR, write_spec
from tests.processes import survivors

pytestmark = pytest.mark.integration


def _search(tmp_path: Path, name: str, workload: Any, space: dict, **changes: Any) -> dict:
    """Run the search; its trials' (status, error, retries) by a space value, and the pids."""
    pids = tmp_path / "pids"
    pids.mkdir()
    spec = {
        "name": name,
        "workload": workload,
        "code_dir": str(WORKLOAD_DIR),
        "metric": {"name": "score", "mode": "max"},
        "space": {**space, "pids": str(pids)},
        "search": {"strategy": "grid", "grid_points": 3},
        **changes,
    }
    path = write_spec(tmp_path / "spec.yaml", spec)
    store = tmp_path / "mlruns.db"
    result = CliRunner().invoke(cli, ["run", str(path), "--tracking-uri", str(store)])
    assert result.exit_code == 0, result.output
    client = MlflowClient(f"sqlite:///{store}")
    runs = trial_runs(client, find_search(client, name))
    by = next(iter(space))
    return {
        "trials": {
            r.data.params[by]: (
                r.info.status,
                r.data.tags.get("searcher.error"),
                r.data.tags.get("searcher.retries"),
            )
            for r in runs
        },
        "pids": {f.name: int(f.read_text().split()[0]) for f in pids.iterdir()},
        "output": result.output,
    }


def _assert_worker_ended(pids: dict[str, int], mode: str) -> None:
    """One at a time, later trials reuse a worker; not the one a trial past its limit had."""
    assert pids["ok"] == pids["again"], "the worker of a trial that kept its limits is reused"
    assert pids[mode] != pids["ok"], "the worker of the trial past its limit was ended"
    assert survivors([pids[mode]]) == []


def test_a_trial_past_its_time_limit_fails_and_the_search_goes_on(
    ray_local: None, tmp_path: Path
) -> None:
    found = _search(
        tmp_path,
        "timeout",
        "limits:fit",
        {"mode": ["sleeps", "ok", "again"]},
        budget={"epochs": 2, "trial_timeout": "4s"},
        resources={"cpu": 1, "max_concurrent": 1},
    )
    assert found["trials"] == {
        "sleeps": ("FAILED", "timed out after 4s", None),
        "ok": ("FINISHED", None, None),
        "again": ("FINISHED", None, None),
    }, found["output"]
    assert "timed out after 4s" in found["output"]
    _assert_worker_ended(found["pids"], "sleeps")


def test_a_trial_over_its_memory_fails_and_the_search_goes_on(
    ray_local: None, tmp_path: Path
) -> None:
    found = _search(
        tmp_path,
        "memory",
        "limits:fit",
        {"mode": ["leaks", "ok", "again"]},
        budget={"epochs": 2},
        resources={"cpu": 1, "memory": "1GB", "max_concurrent": 1},
    )
    status, error, retries = found["trials"]["leaks"]
    assert (status, retries) == ("FAILED", None), found["output"]
    assert error.startswith("out of memory: used ") and error.endswith(" of 1GB (resources.memory)")
    assert float(error.split()[4].rstrip("GB")) > 1.0
    assert found["trials"]["ok"] == found["trials"]["again"] == ("FINISHED", None, None)
    _assert_worker_ended(found["pids"], "leaks")


def test_a_command_past_its_time_limit_is_ended_with_its_children(
    ray_local: None, tmp_path: Path
) -> None:
    shell = "echo $$ > {pids}/$0; [ $0 = ok ] && echo score=1 && exit; sleep 100000 & wait"
    command = f"sh -c '{shell}'"
    found = _search(
        tmp_path,
        "command_timeout",
        {"command": command.replace("{pids}", str(tmp_path / "pids")) + " {mode}"},
        {"mode": ["ok", "hangs"]},
        budget={"trial_timeout": "3s"},
    )
    assert found["trials"] == {
        "ok": ("FINISHED", None, None),
        "hangs": ("FAILED", "timed out after 3s", None),
    }, found["output"]
    assert survivors([found["pids"]["hangs"]]) == []


def test_a_trial_that_exits_its_worker_is_retried_then_failed(
    ray_local: None, tmp_path: Path
) -> None:
    """os._exit in a trial is a dead worker: run again twice, then FAILED; the search goes on."""
    found = _search(
        tmp_path,
        "exits",
        "limits:fit",
        {"mode": ["exits", "ok"]},
        budget={"epochs": 2},
        resources={"cpu": 1, "max_concurrent": 1},
    )
    status, error, retries = found["trials"]["exits"]
    assert (status, retries) == ("FAILED", "2"), found["output"]
    assert "died" in error.lower() or "exit" in error.lower(), error
    assert found["trials"]["ok"] == ("FINISHED", None, None)


def test_a_command_with_50_mb_of_output_and_10000_metrics_on_a_line(
    ray_local: None, tmp_path: Path
) -> None:
    script = tmp_path / "loud.py"
    script.write_text(
        "import sys\n"
        "line = 'x' * 999 + '\\n'\n"
        "for _ in range(50_000):\n"
        "    sys.stdout.write(line)\n"
        "print(' '.join(f'm{i}={i}' for i in range(10_000)) + ' score=1.5', flush=True)\n"
    )
    found = _search(
        tmp_path,
        "loud",
        {"command": f"python {script} {{mode}}"},
        {"mode": ["only"]},
    )
    assert found["trials"] == {"only": ("FINISHED", None, None)}, found["output"]
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlruns.db'}")
    [run] = trial_runs(client, find_search(client, "loud"))
    assert run.data.metrics["score"] == 1.5 and run.data.metrics["m9999"] == 9999
    assert len([m for m in run.data.metrics if m.startswith("m")]) == 10_000
    kept = Path(client.download_artifacts(run.info.run_id, "stdout.txt", str(tmp_path)))
    assert 2**20 - 1000 <= kept.stat().st_size < 2**20 + 100, "kept up to 1 MiB, then a note"
    assert kept.read_text().endswith(f"[searcher: output cut at {2**20} bytes]\n")
