"""The store: URI precedence, SQLite schema created once under a lock, WAL on."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from searcher.tracking.store import ensure_experiment, open_store
from searcher.tracking.uri import normalise_uri, resolve_tracking_uri
from tests.conftest import SqliteStore


def test_uri_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri() == f"sqlite:///{tmp_path}/mlruns.db"
    assert resolve_tracking_uri(spec_uri="s.db") == f"sqlite:///{tmp_path}/s.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "env.db")
    assert resolve_tracking_uri(spec_uri="s.db") == f"sqlite:///{tmp_path}/env.db"
    assert resolve_tracking_uri("cli.db", "s.db") == f"sqlite:///{tmp_path}/cli.db"


def test_normalise_keeps_remote_uris_and_absolutises_sqlite(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert normalise_uri("sqlite:///rel/x.db") == f"sqlite:///{tmp_path}/rel/x.db"
    assert normalise_uri("sqlite:////abs/x.db") == "sqlite:////abs/x.db"
    assert normalise_uri("postgresql://u@h/db") == "postgresql://u@h/db"
    assert normalise_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"


def _open(uri: str) -> str:
    client = open_store(uri)
    return ensure_experiment(client, uri, "shared")


def test_concurrent_first_opens_share_one_schema(sqlite_uri: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        ids = pool.map(_open, [sqlite_uri] * 4)
    assert len(ids) == 4
    with sqlite3.connect(sqlite_uri.removeprefix("sqlite:///")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = [r[0] for r in conn.execute("select name from experiments where name='shared'")]
    assert names == ["shared"]


def test_experiment_artifacts_live_beside_the_database(sqlite_store: SqliteStore) -> None:
    exp_id = sqlite_store.experiment("arts")
    location = sqlite_store.client.get_experiment(exp_id).artifact_location
    assert location == (sqlite_store.path.parent / "mlartifacts" / "arts").as_uri()
    assert sqlite_store.experiment("arts") == exp_id
