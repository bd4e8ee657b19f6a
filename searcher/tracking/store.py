"""The MLflow SQL store: its schema made once under a lock, experiments, artifact locations."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from filelock import FileLock
from mlflow.tracking import MlflowClient

from searcher.errors import NotFoundError
from searcher.tracking.probe import has_schema, probe
from searcher.tracking.uri import display_uri, require_store, resolve_tracking_uri, sqlite_path

# The store client, under a name modules outside tracking/ use in annotations (they import no
# MLflow themselves).
Store = MlflowClient


def quiet_mlflow() -> None:
    """MLflow and alembic print migration and info chatter the user did not ask for."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("mlflow", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)


def open_store(uri: str) -> MlflowClient:
    """A client for the store, its schema created once under a lock before anything else runs.

    MLflow creates a fresh schema without locking; concurrent first opens of one SQLite file
    crash or leave it half-migrated, so the driver does it alone, then turns on WAL. A store
    that cannot be reached is one line within seconds (MLflow would retry for minutes).
    """
    quiet_mlflow()
    probe(uri)
    db = sqlite_path(uri)
    if db is None:
        client = MlflowClient(tracking_uri=uri)
        client.search_experiments(max_results=1)
        return client
    with FileLock(str(db.with_name(f".{db.name}.lock")), timeout=120):
        client = MlflowClient(tracking_uri=uri)
        client.search_experiments(max_results=1)
        with sqlite3.connect(db) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
    return client


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


def open_existing_store(uri: str) -> MlflowClient:
    """A client for reading, on a store that already holds MLflow's schema.

    A missing SQLite file, or a database without MLflow's tables, is an error: a command that
    only reads never creates or migrates a schema.
    """
    require_store(uri)
    probe(uri)
    if not uri.startswith(("http://", "https://")) and not has_schema(uri):
        raise NotFoundError(
            f"no MLflow store at {display_uri(uri)} (no MLflow tables); run a search first "
            "or pass --tracking-uri"
        )
    return open_store(uri)


def open_for_reading(cli_uri: str | None) -> MlflowClient:
    """The store a read command names (same precedence as a search), which must exist."""
    return open_existing_store(resolve_tracking_uri(cli_uri))
