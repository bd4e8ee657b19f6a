"""No Ray process outlives a search that started its own local Ray, however the search ends.

Checked by pid: every process under the driver while it runs must be gone shortly after the
driver is killed outright, or stopped while Ray is still starting.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import base_spec, write_spec
from tests.processes import descendants, searcher_running, survivors

pytestmark = pytest.mark.integration


def _run_args(tmp_path: Path, epochs: int) -> tuple[list[str], dict[str, str]]:
    """`searcher run` of a small search that starts its own local Ray."""
    (tmp_path / "store").mkdir()
    uri = "sqlite:///" + str(tmp_path / "store" / "mlruns.db")
    raw = base_spec("orphans", tmp_path, search={"strategy": "random", "seed": 0, "trials": 8})
    raw["budget"] = {"epochs": epochs}
    path = write_spec(tmp_path / "spec.yaml", raw)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return ["run", str(path), "--tracking-uri", uri], env


def _watch(pid: int, seen: dict[int, str]) -> None:
    """Note every process under ``pid`` (with the command line it was first seen with).

    A child caught between fork and exec still shows the driver's command line: that one is
    replaced once the child has its own (gcs_server would otherwise never be seen by name).
    """
    try:
        driver = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ").strip()
    except OSError:  # the driver is gone: nothing more to note
        return
    for child, cmd in descendants(pid).items():
        if seen.get(child, driver).strip() == driver:
            seen[child] = cmd


def _watch_until(
    proc: subprocess.Popen[bytes],
    ready: Callable[[], bool],
    log_path: Path,
    seen: dict[int, str],
    poll: float = 0.2,
) -> None:
    """Note the processes under the search until ``ready()``; the search must stay up."""
    deadline = time.monotonic() + 180
    while not ready():
        assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
        _watch(proc.pid, seen)
        time.sleep(poll)


def test_kill_9_of_a_search_leaves_no_ray_process(tmp_path: Path) -> None:
    args, env = _run_args(tmp_path, epochs=6)
    log_path = tmp_path / "run.log"
    seen: dict[int, str] = {}
    with searcher_running(args, log_path, env) as proc:
        _watch_until(proc, lambda: "FINISHED" in log_path.read_text(), log_path, seen)
        _watch(proc.pid, seen)
        proc.kill()
        proc.wait(30)
    agents = [c for c in seen.values() if "agent" in " ".join(c.split()[:3]).lower()]
    assert len(agents) == 2, "Ray's dashboard and runtime-env agents were not seen"
    left = survivors(list(seen), timeout=30)
    assert left == [], {p: seen[p] for p in left}


def test_sigterm_while_ray_starts_leaves_no_ray_process(tmp_path: Path) -> None:
    args, env = _run_args(tmp_path, epochs=2)
    log_path = tmp_path / "run.log"
    seen: dict[int, str] = {}
    with searcher_running(args, log_path, env) as proc:
        starting = lambda: any("gcs_server" in cmd for cmd in seen.values())  # noqa: E731
        _watch_until(proc, starting, log_path, seen, poll=0.02)
        assert "tracking:" not in log_path.read_text(), "Ray had already started"
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    output = log_path.read_text()
    assert code == 130, output
    assert "Traceback" not in output, output
    left = survivors(list(seen), timeout=30)
    assert left == [], {p: seen[p] for p in left}
