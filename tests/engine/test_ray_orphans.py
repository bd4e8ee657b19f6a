"""No Ray process outlives a search that started its own local Ray, however the search ends.

Checked by pid: every process under the driver while it runs must be gone shortly after the
driver is killed outright, or stopped while Ray is still starting.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import base_spec, write_spec
from tests.processes import descendants, start_searcher, survivors

pytestmark = pytest.mark.integration


def _start(tmp_path: Path, epochs: int) -> tuple:
    (tmp_path / "store").mkdir()
    uri = "sqlite:///" + str(tmp_path / "store" / "mlruns.db")
    raw = base_spec("orphans", tmp_path, search={"strategy": "random", "seed": 0, "trials": 8})
    raw["budget"] = {"epochs": epochs}
    path = write_spec(tmp_path / "spec.yaml", raw)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # its own local Ray
    log_path = tmp_path / "run.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed by the test
    return start_searcher(["run", str(path), "--tracking-uri", uri], log, env=env), log, log_path


def _watch(pid: int, until: float, seen: dict[int, str]) -> None:
    for child, cmd in descendants(pid).items():
        seen.setdefault(child, cmd)


def test_kill_9_of_a_search_leaves_no_ray_process(tmp_path: Path) -> None:
    proc, log, log_path = _start(tmp_path, epochs=6)
    seen: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 180
        while "FINISHED" not in log_path.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            _watch(proc.pid, deadline, seen)
            time.sleep(0.2)
        _watch(proc.pid, deadline, seen)
        proc.kill()
        proc.wait(30)
    finally:
        log.close()
    agents = [c for c in seen.values() if "agent" in " ".join(c.split()[:3]).lower()]
    assert len(agents) == 2, "Ray's dashboard and runtime-env agents were not seen"
    left = survivors(list(seen), timeout=30)
    assert left == [], {p: seen[p] for p in left}


def test_sigterm_while_ray_starts_leaves_no_ray_process(tmp_path: Path) -> None:
    proc, log, log_path = _start(tmp_path, epochs=2)
    seen: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 120
        while not any("gcs_server" in cmd for cmd in seen.values()):
            assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
            _watch(proc.pid, deadline, seen)
            time.sleep(0.02)
        assert "tracking:" not in log_path.read_text(), "Ray had already started"
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(60)
    finally:
        log.close()
        if proc.poll() is None:
            proc.kill()
    output = log_path.read_text()
    assert code == 130, output
    assert "Traceback" not in output, output
    left = survivors(list(seen), timeout=30)
    assert left == [], {p: seen[p] for p in left}
