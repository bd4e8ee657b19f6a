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
from searcher.tracking.orphans import owner_alive, owner_tags
from searcher.tracking.recorder import retrying

RELEASED = "released"  # the prefix of an ended search's owner (made unique, see release_search)
READ_BACK_SECONDS = 1.0  # a server store: how long a rival's write may take to land


def owner_free(token: str | None) -> bool | None:
    """Whether a search owned by ``token`` may be claimed: released, or its process gone;
    None when the owner is another host's process (it cannot be checked from here)."""
    if not token or token.startswith(RELEASED):
        return True
    host, pid, started = (token.split(" ") + ["", ""])[:3]
    alive = owner_alive({T.HOST: host, T.PID: pid, T.PROCESS_STARTED: started})
    return None if alive is None else not alive


def claim_search(
    client: MlflowClient, run_id: str, *, seen: str | None, force: bool = False
) -> None:
    """Make this process the search's owner, or raise SearcherError (nothing written).

    ``seen`` is the owner in the snapshot the resume was planned from: the compare-and-set
    expects exactly it, so a resume whose plan went stale (another one claimed, ran and
    released the search meanwhile) loses too, as each claim and release writes a new value.
    """
    mine = owner_tags()[T.OWNER]
    if seen == mine:
        return  # this process ran it (the Python API in a notebook): it is ours already
    free = owner_free(seen)
    if free is False or (free is None and not force):
        raise SearcherError(f"search {run_id} is being run by {_who(seen)}; stop it first, or wait")
    if not retrying(compare_and_set, client, run_id, T.OWNER, seen, mine):
        now = client.get_run(run_id).data.tags.get(T.OWNER)
        raise SearcherError(
            f"search {run_id} was claimed a moment ago by {_who(now)}, another `searcher resume`"
        )


def release_search(client: MlflowClient, run_id: str) -> None:
    """The search's run has ended: any later resume may claim it. The value is new each time,
    so a claim planned before this release cannot match it."""
    client.set_tag(run_id, T.OWNER, f"{RELEASED} {owner_tags()[T.OWNER]} {time.time_ns()}")


def _who(token: str | None) -> str:
    if not token or token.startswith(RELEASED):
        return "another process"
    host, pid = (token.split(" ") + ["?"])[:2]
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

    # Built, not written as text: each dialect quotes `key` (reserved in MySQL, SQL Server).
    tags = sa.table("tags", sa.column("key"), sa.column("value"), sa.column("run_uuid"))
    if expected is None:
        try:
            with engine.begin() as conn:
                conn.execute(sa.insert(tags).values(key=key, value=new, run_uuid=run_id))
        except sa.exc.IntegrityError:  # another claimant's row is there first
            return False
        return True
    update = (
        sa.update(tags)
        .where(tags.c.key == key, tags.c.run_uuid == run_id, tags.c.value == expected)
        .values(value=new)
    )
    with engine.begin() as conn:
        return conn.execute(update).rowcount == 1
