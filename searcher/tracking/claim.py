"""One process at a time runs a search: a resume claims it with a compare-and-set in the store.

A search's run carries ``searcher.owner`` ("host pid start-time" of the process that runs it;
``released`` once that process has ended the run). To resume, a process replaces the owner it
saw (released, or a process that is gone) with itself in one SQL statement: an UPDATE of the
tag row that matches the old value, or an INSERT for a search recorded before owners were
(the tag table's primary key refuses a second one). SQLite and PostgreSQL both make that one
row change atomic, so of two resumes started at the same instant exactly one wins; the other
writes nothing and is told who won. An MLflow server store has no such statement: there the
claim is written and read back (best effort), which the docs say.
"""

from __future__ import annotations

import time

from mlflow.tracking import MlflowClient

from searcher.errors import SearcherError
from searcher.tracking import tags as T
from searcher.tracking.orphans import owner_tags, process_alive

RELEASED = "released"
READ_BACK_SECONDS = 1.0  # a server store: how long a rival's write may take to land


def owner_free(token: str | None, host: str) -> bool | None:
    """Whether a search owned by ``token`` may be claimed: released, or its process gone;
    None when the owner is another host's process (it cannot be checked from here)."""
    if token in (None, "", RELEASED):
        return True
    owner_host, pid, *started = token.split(" ")
    if owner_host != host:
        return None
    return not (pid.isdigit() and process_alive(int(pid), started[0] if started else ""))


def claim_search(client: MlflowClient, run_id: str, *, force: bool = False) -> None:
    """Make this process the search's owner, or raise SearcherError (nothing written)."""
    mine_tags = owner_tags()
    mine = mine_tags[T.OWNER]
    seen = client.get_run(run_id).data.tags.get(T.OWNER)
    if seen == mine:
        return  # this process ran it (the Python API in a notebook): it is ours already
    free = owner_free(seen, mine_tags[T.HOST])
    if free is False or (free is None and not force):
        raise SearcherError(f"search {run_id} is being run by {_who(seen)}; stop it first, or wait")
    if not compare_and_set(client, run_id, T.OWNER, seen, mine):
        now = client.get_run(run_id).data.tags.get(T.OWNER)
        raise SearcherError(
            f"search {run_id} was claimed a moment ago by {_who(now)}, another `searcher resume`"
        )


def release_search(client: MlflowClient, run_id: str) -> None:
    """The search's run has ended: any later resume may claim it."""
    client.set_tag(run_id, T.OWNER, RELEASED)


def _who(token: str | None) -> str:
    if not token or token == RELEASED:
        return "another process"
    host, pid, *_ = token.split(" ")
    return f"pid {pid} on {host}"


def compare_and_set(
    client: MlflowClient, run_id: str, key: str, expected: str | None, new: str
) -> bool:
    """Set the run's tag ``key`` to ``new`` if it is still ``expected`` (None: absent), as one
    atomic change of the store's tag row; True when this call made the change."""
    engine = getattr(getattr(client, "_tracking_client", None), "store", None)
    engine = getattr(engine, "engine", None)
    if engine is None:  # not a SQL store (an MLflow server): write, wait, read back
        client.set_tag(run_id, key, new)
        time.sleep(READ_BACK_SECONDS)
        return client.get_run(run_id).data.tags.get(key) == new
    import sqlalchemy as sa

    values = {"k": key, "v": new, "r": run_id, "e": expected}
    if expected is None:
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(INSERT), values)
        except sa.exc.IntegrityError:  # another claimant's row is there first
            return False
        return True
    with engine.begin() as conn:
        return conn.execute(sa.text(UPDATE), values).rowcount == 1


INSERT = "INSERT INTO tags (key, value, run_uuid) VALUES (:k, :v, :r)"
UPDATE = "UPDATE tags SET value = :v WHERE key = :k AND run_uuid = :r AND value = :e"
