"""The same search against PostgreSQL: each test gets its own database, dropped afterwards."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from searcher.controller import run_search
from searcher.results import find_search, trials_frame
from searcher.spec import load_spec
from tests.conftest import base_spec, write_spec

pytestmark = pytest.mark.integration
SERVER = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
def pg_uri() -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    name = f"searcher_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(f"{SERVER}/test", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable on 127.0.0.1:5432: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{SERVER}/{name}"
    finally:
        with psycopg.connect(f"{SERVER}/test", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_search_into_postgres(ray_local: None, tmp_path: Path, pg_uri: str) -> None:
    raw = base_spec(
        "pg_it",
        tmp_path,
        search={"strategy": "coarse_to_fine", "seed": 2, "stages": [{"trials": 3}, {"trials": 2}]},
        budget={"epochs": 1},
    )
    spec = load_spec(write_spec(tmp_path / "pg.yaml", raw))
    summary = run_search(spec, tracking_uri=pg_uri, out=io.StringIO())
    assert summary.counts == {"FINISHED": 5}
    client = MlflowClient(pg_uri)
    search = find_search(client, "pg_it")
    frame = trials_frame(client, search)
    assert len(frame) == 5
    assert sorted(frame["stage"]) == [1, 1, 1, 2, 2]
    assert set(frame["status"]) == {"FINISHED"}
    assert frame.loc[0, "run_id"] == summary.best_run_id
    assert client.get_run(search.id).data.tags["searcher.stage.2.ranges"].startswith("{")
    location = client.get_experiment_by_name("pg_it").artifact_location
    assert location.startswith("file:///") and "/mlartifacts/pg_it" in location
