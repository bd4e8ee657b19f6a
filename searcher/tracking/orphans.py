"""Runs left RUNNING by a search whose process died (SIGKILL, power loss): MLflow never ends them.

A search records its host and pid; the next search in the experiment, on the same host, marks
the runs of a dead process KILLED so tables and the UI stop showing them as in progress.
"""

from __future__ import annotations

import os
import socket

from mlflow.entities import RunTag
from mlflow.tracking import MlflowClient

from searcher.tracking import tags as T


def owner_tags() -> dict[str, str]:
    """Tags naming the process that runs a search."""
    return {T.HOST: socket.gethostname(), T.PID: str(os.getpid())}


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def sweep_orphans(client: MlflowClient, experiment_id: str) -> list[str]:
    """Mark KILLED the running searches (and their running trials) of dead local processes."""
    host = socket.gethostname()
    query = f"{T.SEARCH_QUERY} and attributes.status = 'RUNNING'"
    swept = []
    for search in client.search_runs([experiment_id], query, max_results=1000):
        tags = search.data.tags
        pid = tags.get(T.PID, "")
        if tags.get(T.HOST) != host or not pid.isdigit() or process_alive(int(pid)):
            continue
        reason = f"orphaned: the search's process {pid} on {host} is gone"
        children = client.search_runs(
            [experiment_id],
            f"tags.`{T.PARENT}` = '{search.info.run_id}' and attributes.status = 'RUNNING'",
            max_results=10000,
        )
        for run in [*children, search]:
            client.log_batch(run.info.run_id, tags=[RunTag(T.ERROR, reason)])
            client.set_terminated(run.info.run_id, status="KILLED")
        swept.append(search.info.run_id)
    return swept
