"""`searcher ui` never leaves its MLflow server behind, even when it is killed outright."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import SqliteStore
from tests.http_utils import free_port, wait_for
from tests.processes import start_searcher

pytestmark = pytest.mark.integration


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_the_ui_server_ends_with_searcher_ui(
    sig: signal.Signals, tmp_path: Path, sqlite_store: SqliteStore
) -> None:
    uri = sqlite_store.uri
    sqlite_store.experiment("ui_orphans")
    port = free_port()
    with open(tmp_path / "ui.log", "w") as log:
        proc = start_searcher(["ui", "--port", str(port), "--tracking-uri", uri], log)
        try:
            wait_for(f"http://127.0.0.1:{port}/health", proc, timeout=120)
            (guard,) = _children(proc.pid)
            assert os.getpgid(guard) == guard, "the server runs in a process group of its own"
            server = _children(guard)
            assert server, "the guard runs the MLflow server"
            proc.send_signal(sig)
            proc.wait(timeout=30)
            deadline = time.monotonic() + 20
            while _group_alive(guard) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert not _group_alive(guard), "the MLflow server outlived `searcher ui`"
        finally:
            if proc.poll() is None:
                proc.kill()
