"""Tracking URIs: which store a command uses, written so that every process means the same file.

No MLflow import here: commands that only name a store stay light.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

from searcher.errors import NotFoundError, SearcherError

DEFAULT_STORE = "mlruns.db"


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


def require_store(uri: str) -> None:
    """A command that reads must not create a store: a SQLite file must already exist."""
    db = sqlite_path(uri)
    if db is not None and not db.exists():
        raise NotFoundError(f"no store at {db}; run a search first or pass --tracking-uri")


def display_uri(uri: str) -> str:
    """The URI without a password, for the console."""
    parsed = urlparse(uri)
    if parsed.password:
        return uri.replace(f":{parsed.password}@", ":***@")
    return uri


def shared_tracking_uri(uri: str | None) -> str:
    """The store a job on the cluster logs to: one every node and teammate can reach."""
    if not uri:
        raise SearcherError(
            "submit needs --tracking-uri (or MLFLOW_TRACKING_URI): a postgresql:// database or "
            "an http:// MLflow server that the cluster can reach"
        )
    resolved = normalise_uri(uri)
    if sqlite_path(resolved) is not None:
        raise SearcherError(
            f"--tracking-uri {uri} is a SQLite file only this machine sees; a job runs on the "
            "cluster, so give a postgresql:// database or an http:// MLflow server"
        )
    return resolved
