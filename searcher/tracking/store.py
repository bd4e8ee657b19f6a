"""The MLflow SQL store: its schema made once under a lock, experiments, artifact locations."""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from filelock import FileLock
from mlflow.tracking import MlflowClient

from searcher.errors import NotFoundError
from searcher.tracking.probe import has_schema, probe
from searcher.tracking.template import copy_template, needs_schema
from searcher.tracking.uri import display_uri, require_store, resolve_tracking_uri, sqlite_path

# The store client, under a name modules outside tracking/ use in annotations (they import no
# MLflow themselves).
Store = MlflowClient


def quiet_mlflow() -> None:
    """MLflow and alembic print migration and info chatter the user did not ask for."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("mlflow", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # It logs every failed write's whole traceback (a full disk: thousands); the recorder
    # counts them by kind and the search says what broke in one line.
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)


def open_store(uri: str, *, probed: bool = False) -> MlflowClient:
    """A client for the store, its schema created once under a lock before anything else runs.

    MLflow creates a fresh schema without locking; concurrent first opens of one SQLite file
    crash or leave it half-migrated, so the driver does it alone (a new file is a copy of the
    cached empty schema, see template), then turns on WAL. A store that cannot be reached is
    one line within seconds (MLflow would retry for minutes); ``probed``: the caller did that.
    """
    quiet_mlflow()
    if not probed:
        probe(uri)
    _close_at_exit()
    db = sqlite_path(uri)
    if db is None:
        client = MlflowClient(tracking_uri=uri)
        client.search_experiments(max_results=1)
        return client
    with FileLock(str(db.with_name(f".{db.name}.lock")), timeout=120):
        if needs_schema(db):
            copy_template(db)
        client = MlflowClient(tracking_uri=uri)
        client.search_experiments(max_results=1)
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
    return client


@functools.cache
def _close_at_exit() -> None:
    atexit.register(close_stores)


def close_stores() -> None:
    """Close MLflow's pooled database connections (at exit).

    The CLI ends without the interpreter's teardown (see cli.app.exit_now), which is what used
    to close them; a SQLite store's last close folds its write-ahead log into the file, so a
    store copied or backed up after a search holds all of it.
    """
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    for engine in list(getattr(SqlAlchemyStore, "_engine_map", {}).values()):
        with contextlib.suppress(Exception):
            engine.dispose()


LOCAL_ARTIFACTS = Path("~/.cache/searcher/mlartifacts")


def artifact_location(uri: str, experiment: str) -> str | None:
    """Where an experiment's artifacts go: never MLflow's default of the current directory.

    SQLite: beside the database file. Other SQL stores: a per-user cache (the spec is also kept
    in a tag, so export works from any machine). An MLflow server decides for itself.
    """
    if uri.startswith(("http://", "https://", "databricks")):
        return None
    db = sqlite_path(uri)
    root = db.parent / "mlartifacts" if db is not None else LOCAL_ARTIFACTS.expanduser()
    return (root / experiment).as_uri()


def ensure_experiment(client: MlflowClient, uri: str, name: str) -> str:
    """The id of the experiment called ``name``, created if needed (restored if deleted)."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return found.experiment_id
    return client.create_experiment(name, artifact_location=artifact_location(uri, name))


def open_existing_store(uri: str, *, read_only: bool = False) -> MlflowClient:
    """A client on a store that already holds MLflow's schema.

    A missing SQLite file, or a database without MLflow's tables, is an error: a command that
    only reads never creates or migrates a schema. ``read_only``: the caller only reads, so a
    SQLite file it may not write (a colleague's store on a read-only share) is read from a
    snapshot, since SQLite cannot open a WAL-mode file without writing its lock files beside it.
    """
    require_store(uri)
    opened = readable_copy(uri) if read_only else uri
    probe(opened)
    if not uri.startswith(("http://", "https://")) and not has_schema(opened):
        raise NotFoundError(
            f"no MLflow store at {display_uri(uri)} (no MLflow tables); run a search first "
            "or pass --tracking-uri"
        )
    return open_store(opened, probed=True)


def open_for_reading(cli_uri: str | None) -> MlflowClient:
    """The store a read command names (same precedence as a search), which must exist."""
    return open_existing_store(resolve_tracking_uri(cli_uri), read_only=True)


def readable_copy(uri: str) -> str:
    """``uri`` itself, or for a SQLite file in a folder this process may not write, the URI of
    a private copy of it (and its write-ahead log) removed at exit."""
    db = sqlite_path(uri)
    if db is None or not db.is_file() or os.access(db.parent, os.W_OK):
        return uri
    folder = Path(tempfile.mkdtemp(prefix="searcher-readonly-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    for part in (db, db.with_name(f"{db.name}-wal")):
        if part.exists():
            shutil.copyfile(part, folder / part.name)
    return f"sqlite:///{folder / db.name}"
