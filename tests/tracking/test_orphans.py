"""Runs of a search whose process died are marked KILLED by the next search; live ones are not."""

from __future__ import annotations

import os
import socket
import subprocess

from mlflow.tracking import MlflowClient

from searcher.tracking.orphans import sweep_orphans
from searcher.tracking.tags import HOST as TAG_HOST
from searcher.tracking.tags import PID as TAG_PID
from tests.conftest import SqliteStore


def _search(client: MlflowClient, exp: str, pid: int, host: str) -> tuple[str, str, str]:
    tags = {"searcher.kind": "search", TAG_HOST: host, TAG_PID: str(pid)}
    parent = client.create_run(exp, tags=tags).info.run_id
    child = {"mlflow.parentRunId": parent, "searcher.kind": "trial"}
    running = client.create_run(exp, tags=child).info.run_id
    done = client.create_run(exp, tags=child).info.run_id
    client.set_terminated(done, "FINISHED")
    return parent, running, done


def test_dead_local_searches_are_swept_live_and_remote_ones_kept(sqlite_store: SqliteStore) -> None:
    client = sqlite_store.client
    exp = sqlite_store.experiment("orphans")
    dead = subprocess.Popen(["true"])
    dead.wait()
    host = socket.gethostname()
    gone = _search(client, exp, dead.pid, host)
    alive = _search(client, exp, os.getpid(), host)
    remote = _search(client, exp, dead.pid, "another-host")

    assert sweep_orphans(client, exp) == [gone[0]]

    status = {run_id: client.get_run(run_id).info.status for run_id in [*gone, *alive, *remote]}
    assert [status[r] for r in gone] == ["KILLED", "KILLED", "FINISHED"]
    assert [status[r] for r in alive] == ["RUNNING", "RUNNING", "FINISHED"]
    assert [status[r] for r in remote] == ["RUNNING", "RUNNING", "FINISHED"]
    error = client.get_run(gone[1]).data.tags["searcher.error"]
    assert error == f"orphaned: the search's process {dead.pid} on {host} is gone"
    assert sweep_orphans(client, exp) == [], "a second sweep finds nothing"


def test_trials_left_running_under_an_ended_search_are_swept(sqlite_store: SqliteStore) -> None:
    """A store that stopped taking writes left a trial RUNNING under a search that ended."""
    from searcher.tracking.orphans import sweep_leftover_trials

    client = sqlite_store.client
    exp = sqlite_store.experiment("leftovers")
    host = socket.gethostname()
    ended, left, done = _search(client, exp, os.getpid(), host)
    client.set_terminated(ended, "FAILED")
    live, running, _ = _search(client, exp, os.getpid(), host)
    resumed, kept_for_resume, _ = _search(client, exp, os.getpid(), host)
    client.set_terminated(resumed, "KILLED")

    assert sweep_leftover_trials(client, exp, keep=resumed) == 1
    status = {r: client.get_run(r).info.status for r in (left, done, running, kept_for_resume)}
    assert status == {
        left: "KILLED",
        done: "FINISHED",
        running: "RUNNING",
        kept_for_resume: "RUNNING",
    }
    error = client.get_run(left).data.tags["searcher.error"]
    assert error == f"left RUNNING by search {ended}, which ended FAILED"
    assert sweep_leftover_trials(client, exp, keep=resumed) == 0
