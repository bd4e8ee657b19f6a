"""Runs left RUNNING by a search whose process died (SIGKILL, power loss): MLflow never ends them.

A search records its host and pid; the next search in the experiment, on the same host, marks
the runs of a dead process KILLED so tables and the UI stop showing them as in progress.
"""

from __future__ import annotations

import os
import socket

from mlflow.entities import Run, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from searcher.phases import process_started
from searcher.tracking import tags as T


def owner_tags() -> dict[str, str]:
    """Tags naming the process that runs a search (its start time tells a reused pid apart)."""
    pid, host, started = os.getpid(), socket.gethostname(), process_started(os.getpid())
    owner = f"{host} {pid} {started}".strip()
    return {T.HOST: host, T.PID: str(pid), T.PROCESS_STARTED: started, T.OWNER: owner}


def process_alive(pid: int, started: str = "") -> bool:
    """Whether the process is running and, when its start time is known, is the same one."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's live process
    return not started or process_started(pid) in ("", started)


def owner_alive(tags: dict[str, str]) -> bool | None:
    """Whether the process a run's tags name is alive; None when it ran on another host."""
    pid = tags.get(T.PID, "")
    if tags.get(T.HOST) != socket.gethostname():
        return None
    return pid.isdigit() and process_alive(int(pid), tags.get(T.PROCESS_STARTED, ""))


def sweep_orphans(client: MlflowClient, experiment_id: str, keep: str = "") -> list[str]:
    """Mark KILLED the running searches (and their running trials) of dead local processes;
    ``keep``: a search being resumed, whose runs the resume ends itself."""
    host = socket.gethostname()
    query = f"{T.SEARCH_QUERY} and attributes.status = 'RUNNING'"
    swept = []
    for search in client.search_runs([experiment_id], query, max_results=1000):
        tags = search.data.tags
        if search.info.run_id == keep or owner_alive(tags) is not False:
            continue
        reason = f"orphaned: the search's process {tags.get(T.PID, '?')} on {host} is gone"
        retire_runs(client, [*running_trials(client, search), search], reason)
        swept.append(search.info.run_id)
    sweep_leftover_trials(client, experiment_id, keep)
    return swept


def sweep_leftover_trials(client: MlflowClient, experiment_id: str, keep: str = "") -> int:
    """Mark KILLED the trial runs still RUNNING under a search that has ended (its store
    stopped taking writes before their ends were written); returns how many."""
    query = f"tags.`{T.KIND}` = '{T.KIND_TRIAL}' and attributes.status = 'RUNNING'"
    leftovers = client.search_runs([experiment_id], query, max_results=10000)
    ended: dict[str, str | None] = {}
    swept = 0
    for run in leftovers:
        parent = run.data.tags.get(T.PARENT, "")
        if not parent or parent == keep:
            continue
        if parent not in ended:
            try:
                status = client.get_run(parent).info.status
            except MlflowException:  # deleted for good (mlflow gc): it has ended, surely
                status = "DELETED"
            ended[parent] = None if status == "RUNNING" else status
        if ended[parent] is not None:
            reason = f"left RUNNING by search {parent}, which ended {ended[parent]}"
            retire_runs(client, [run], reason)
            swept += 1
    return swept


def running_trials(client: MlflowClient, search: Run) -> list[Run]:
    """The trial runs of a search still marked RUNNING."""
    return client.search_runs(
        [search.info.experiment_id],
        f"tags.`{T.PARENT}` = '{search.info.run_id}' and attributes.status = 'RUNNING'",
        max_results=10000,
    )


def retire_runs(client: MlflowClient, runs: list[Run], reason: str) -> None:
    """End runs as KILLED with the reason in their error tag."""
    for run in runs:
        client.log_batch(run.info.run_id, tags=[RunTag(T.ERROR, reason)])
        if run.info.status != "KILLED":
            client.set_terminated(run.info.run_id, status="KILLED")
