"""A new SQLite store is a copy of an empty schema built once: the same store MLflow makes."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import mlflow
import pytest
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

from searcher.tracking import template
from searcher.tracking.store import ensure_experiment, open_store
from tests.conftest import SqliteStore
from tests.http_utils import free_port, get_json, post_json, wait_for
from tests.processes import start_searcher


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setattr(template, "TEMPLATE_DIR", folder)
    return folder


def _schema(db: Path) -> dict[str, object]:
    """Tables with their columns, indexes and the migration version: the schema, compared by
    structure (MLflow's batch migrations write constraints in a varying order)."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            "tables": {
                t: sorted(tuple(c[1:]) for c in conn.execute(f"PRAGMA table_info('{t}')"))
                for t in tables
            },
            "indexes": sorted(
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")
            ),
            "version": [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")],
        }


def _default_experiment(db: Path) -> tuple[str, str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute(
            "SELECT name, artifact_location FROM experiments WHERE experiment_id = 0"
        ).fetchone()


def test_a_new_store_is_the_schema_mlflow_makes(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    ours, theirs = tmp_path / "ours.db", tmp_path / "theirs.db"
    open_store(f"sqlite:///{ours}")
    assert list(cache.glob("mlflow-*.db")) == [template.template_path()], "built once, by version"
    SqlAlchemyStore(f"sqlite:///{theirs}", "./mlruns").engine.dispose()
    assert _schema(ours) == _schema(theirs)
    # MLflow adds its Default experiment to the copy as it would to a store it made.
    assert _default_experiment(ours) == _default_experiment(theirs)
    assert not list(tmp_path.glob(".*.partial")), "the copy is published by a rename"


def test_the_template_is_built_once_and_reused(cache: Path, tmp_path: Path) -> None:
    open_store(f"sqlite:///{tmp_path / 'a.db'}")
    built = template.template_path().stat().st_mtime_ns
    open_store(f"sqlite:///{tmp_path / 'b.db'}")
    assert template.template_path().stat().st_mtime_ns == built
    with contextlib.closing(sqlite3.connect(template.template_path())) as conn:
        assert conn.execute("SELECT count(*) FROM experiments").fetchone() == (0,)


def test_an_existing_store_is_never_overwritten(cache: Path, sqlite_store: SqliteStore) -> None:
    exp = sqlite_store.experiment("kept")
    sqlite_store.client.create_run(exp)
    client = open_store(sqlite_store.uri)
    assert len(client.search_runs([exp])) == 1


def test_an_unwritable_cache_falls_back_to_mlflow(
    cache: Path, sqlite_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root writes anywhere, so the refusal is simulated where the template would be written.
    monkeypatch.setattr(template, "build_template", _refuse)
    client = open_store(sqlite_uri)
    exp = ensure_experiment(client, sqlite_uri, "plain")
    assert client.get_experiment(exp).name == "plain"
    assert not template.template_path().exists()
    db = Path(sqlite_uri.removeprefix("sqlite:///"))
    assert _schema(db)["version"], "MLflow made the schema itself"


def _refuse(path: Path) -> None:
    raise PermissionError(f"{path}: read-only")


@pytest.mark.integration
def test_mlflow_and_its_ui_read_a_store_made_from_the_template(
    cache: Path, tmp_path: Path, sqlite_store: SqliteStore
) -> None:
    uri, client = sqlite_store.uri, sqlite_store.client
    exp = sqlite_store.experiment("from_template")
    run = client.create_run(exp, run_name="one")
    client.log_metric(run.info.run_id, "val_accuracy", 0.9)
    client.set_terminated(run.info.run_id)

    mlflow.set_tracking_uri(uri)
    try:
        frame = mlflow.search_runs(experiment_names=["from_template"])
    finally:
        mlflow.set_tracking_uri(None)
    assert list(frame["run_id"]) == [run.info.run_id]
    assert list(frame["metrics.val_accuracy"]) == [0.9]

    port = free_port()
    with open(tmp_path / "ui.log", "w") as log:
        proc = start_searcher(["ui", "--port", str(port), "--tracking-uri", uri], log)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/health", proc, timeout=120)
            found = get_json(
                f"{base}/api/2.0/mlflow/experiments/get-by-name?experiment_name=from_template"
            )
            runs = post_json(
                f"{base}/api/2.0/mlflow/runs/search",
                {"experiment_ids": [found["experiment"]["experiment_id"]]},
            )["runs"]
            assert [r["info"]["run_id"] for r in runs] == [run.info.run_id]
            listed = post_json(f"{base}/api/2.0/mlflow/experiments/search", {"max_results": 10})
            assert {e["name"] for e in listed["experiments"]} == {"Default", "from_template"}
        finally:
            proc.terminate()
            proc.wait(timeout=30)
