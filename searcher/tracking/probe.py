"""Is the store there? Checked within seconds, before MLflow (which retries for minutes).

A database is asked with a short connect timeout, an MLflow server on ``/health``; a SQLite
file's folder must exist. The answer is one line naming the store and the cause.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request

from searcher.errors import SearcherError
from searcher.tracking.template import needs_schema
from searcher.tracking.uri import display_uri, sqlite_path

CONNECT_TIMEOUT_S = 5


class StoreUnreachable(SearcherError):
    """The tracking store cannot be reached or opened."""


def probe(uri: str) -> None:
    """Raise StoreUnreachable (one line) unless the store answers."""
    db = sqlite_path(uri)
    if db is not None:
        if not db.parent.is_dir():
            raise StoreUnreachable(
                f"cannot open the store {display_uri(uri)}: folder {db.parent} does not exist "
                "(create it, or pass another --tracking-uri)"
            )
        if not os.access(db.parent, os.W_OK) or (db.exists() and not os.access(db, os.W_OK)):
            # SQLite writes its lock and journal beside the file, so the folder must be writable.
            raise StoreUnreachable(
                f"cannot write the store {display_uri(uri)}: folder {db.parent} is read-only "
                "(pass --tracking-uri with a writable place)"
            )
        return
    if uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=CONNECT_TIMEOUT_S):
                return
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise StoreUnreachable(
                f"cannot reach the MLflow server {display_uri(uri)}: {_first_line(reason)}"
            ) from None
    if "://" in uri and uri.split("://")[0].split("+")[0] in ("postgresql", "mysql", "mssql"):
        _connect(uri)


def _connect(uri: str) -> None:
    import sqlalchemy

    args = {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        engine = sqlalchemy.create_engine(uri, connect_args=args, poolclass=sqlalchemy.NullPool)
        with engine.connect():
            pass
    except Exception as exc:  # the driver's own errors differ per database
        cause = getattr(exc, "orig", None) or exc
        raise StoreUnreachable(
            f"cannot reach the store {display_uri(uri)}: {_first_line(cause)}"
        ) from None


def has_schema(uri: str) -> bool:
    """Whether the database already holds MLflow's tables (checked without creating any)."""
    import sqlalchemy

    db = sqlite_path(uri)
    if db is not None and needs_schema(db):
        return False
    engine = sqlalchemy.create_engine(uri, poolclass=sqlalchemy.NullPool)
    try:
        return "experiments" in sqlalchemy.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def _first_line(exc: object) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
