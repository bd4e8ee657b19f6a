"""Where results live: the tracking URI, the MLflow SQL store and its schema, experiments."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from urllib.parse import urlparse

from filelock import FileLock
from mlflow.tracking import MlflowClient

DEFAULT_STORE = "mlruns.db"
TAG_KIND = "searcher.kind"


def quiet_mlflow() -> None:
    """MLflow and alembic print migration and info chatter the user did not ask for."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("mlflow", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)


def resolve_tracking_uri(cli_uri: str | None = None, spec_uri: str | None = None) -> str:
    """The URI to use: --tracking-uri, then MLFLOW_TRACKING_URI, then the spec, then ./mlruns.db.

    SQLite paths are made absolute at start so Ray's per-trial working directories can never
    create stray databases.
    """
    uri = cli_uri or os.environ.get("MLFLOW_TRACKING_URI") or spec_uri or DEFAULT_STORE
    return normalise_uri(uri)


def normalise_uri(uri: str) -> str:
    """Turn a bare path or a relative sqlite URI into an absolute ``sqlite:////`` URI."""
    if "://" not in uri:
        return "sqlite:///" + str(Path(uri).expanduser().resolve())
    if uri.startswith("sqlite:///"):
        path = uri.removeprefix("sqlite:///")
        if path and not path.startswith("/"):
            return "sqlite:///" + str(Path(path).expanduser().resolve())
    return uri


def sqlite_path(uri: str) -> Path | None:
    """The database file of a sqlite URI, or None for other stores."""
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///"))
    return None


def display_uri(uri: str) -> str:
    """The URI without a password, for the console."""
    parsed = urlparse(uri)
    if parsed.password:
        return uri.replace(f":{parsed.password}@", ":***@")
    return uri


def open_store(uri: str) -> MlflowClient:
    """A client for the store, its schema created once under a lock before anything else runs.

    MLflow creates a fresh schema without locking; concurrent first opens of one SQLite file
    crash or leave it half-migrated, so the driver does it alone, then turns on WAL.
    """
    quiet_mlflow()
    db = sqlite_path(uri)
    if db is None:
        client = MlflowClient(tracking_uri=uri)
        client.search_experiments(max_results=1)
        return client
    db.parent.mkdir(parents=True, exist_ok=True)
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
    """A client for reading; a SQLite file that does not exist is an error, not a new store."""
    db = sqlite_path(uri)
    if db is not None and not db.exists():
        from searcher.errors import NotFoundError

        raise NotFoundError(f"no store at {db}; run a search first or pass --tracking-uri")
    return open_store(uri)
