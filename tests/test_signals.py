"""Signals to a search that runs command trials on its own local Ray, as users send them.

To searcher's pid or to its whole process group (what ``timeout``, ``docker stop``, SLURM and
Kubernetes send), SIGINT or SIGTERM: exit 130, the search and its trials KILLED in the store,
and every process the search started gone, the commands (a shell and the child it waits on)
included. SIGKILL of searcher, of its group or of a trial's Ray worker: nothing left either.
Checked by pid against a snapshot of every process under searcher taken just before the signal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from searcher.tracking.queries import find_search, trial_runs
from tests.conftest import write_spec
from tests.processes import alive, descendants, parent_of, survivors

pytestmark = pytest.mark.integration

# A shell that waits on a child: the child is what a guard killed with the worker used to leave.
COMMAND = "sh -c 'sleep 100000 & echo $$ $! >> {pids}; wait' --"


def _start(tmp_path: Path, trials: int = 2) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """`searcher run` of command trials that never end, leading a process group of its own."""
    pids = tmp_path / "pids"
    spec = {
        "name": "signals",
        "workload": {"command": COMMAND.format(pids=pids)},
        "metric": {"name": "score", "mode": "max"},
        "space": {"lr": {"scale": "log", "low": 1e-4, "high": 1.0}},
        "search": {"strategy": "random", "seed": 0, "trials": trials},
    }
    path = write_spec(tmp_path / "spec.yaml", spec)
    store = tmp_path / "mlruns.db"
    log_path = tmp_path / "run.log"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    args = ["run", str(path), "--tracking-uri", str(store)]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "searcher.cli", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
            start_new_session=True,  # its own group, as under a terminal or `timeout`
        )
    return proc, pids, log_path


def _command_pids(pids: Path) -> list[int]:
    return [int(p) for p in pids.read_text().split()] if pids.exists() else []


def _wait_for_commands(proc: subprocess.Popen[bytes], pids: Path, log: Path, count: int) -> None:
    deadline = time.monotonic() + 120
    while len(_command_pids(pids)) < 2 * count:
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


@pytest.fixture
def search(tmp_path: Path):
    proc, pids, log = _start(tmp_path)
    try:
        _wait_for_commands(proc, pids, log, count=2)
        yield proc, pids, log, tmp_path / "mlruns.db"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)


def _assert_all_gone(seen: dict[int, str], pids: Path) -> None:
    commands = _command_pids(pids)
    assert set(commands[-2:]) <= set(seen), "the snapshot has the running command"
    left = survivors(sorted(set(seen) | set(commands)), timeout=30)
    assert left == [], {p: seen.get(p, "a command") for p in left}


@pytest.mark.parametrize("target", ["pid", "group"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_ends_the_search_cleanly(search: tuple, target: str, sig: int) -> None:
    proc, pids, log, store = search
    seen = descendants(proc.pid)
    if target == "group":
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    code = proc.wait(90)
    output = log.read_text()
    assert code == 130, output
    assert "Traceback" not in output and "GCS" not in output, output
    _assert_all_gone(seen, pids)
    client = MlflowClient(f"sqlite:///{store}")
    found = find_search(client, "signals")
    assert client.get_run(found.search_id).info.status == "KILLED"
    statuses = [r.info.status for r in trial_runs(client, found)]
    assert statuses == ["KILLED", "KILLED"], output


@pytest.mark.parametrize("target", ["pid", "group"])
def test_kill_9_of_the_search_leaves_no_process(search: tuple, target: str) -> None:
    proc, pids, _, _ = search
    seen = descendants(proc.pid)
    if target == "group":
        os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.kill()
    proc.wait(30)
    _assert_all_gone(seen, pids)


def test_kill_9_of_a_trials_worker_ends_its_command(search: tuple) -> None:
    """The shell's parent is the guard's keeper, whose parent is the guard, whose is the worker."""
    proc, pids, log, _ = search
    shell, child = _command_pids(pids)[:2]
    worker = parent_of(parent_of(parent_of(shell)))
    assert "ray::" in Path(f"/proc/{worker}/cmdline").read_text(), "the trial's Ray worker"
    os.kill(worker, signal.SIGKILL)
    assert survivors([worker, shell, child]) == []
    _wait_for_commands(proc, pids, log, count=3)  # the trial's retry runs its command again
    seen = descendants(proc.pid)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(90) == 130, log.read_text()
    _assert_all_gone(seen, pids)
    assert not alive(shell)
