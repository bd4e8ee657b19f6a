"""A team's setup: `mlflow server` on PostgreSQL, searcher pointed at it by http:// URI."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from searcher.cli import cli
from searcher.controller import run_search
from searcher.spec import load_spec
from tests.conftest import base_spec, postgres_database, write_spec
from tests.http_utils import free_port, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `mlflow server` on a fresh PostgreSQL database, artifacts proxied to a folder."""
    tmp = tmp_path_factory.mktemp("server")
    port = free_port()
    with postgres_database() as db, open(tmp / "server.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", db,
             "--artifacts-destination", str(tmp / "artifacts"), "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_for(f"http://127.0.0.1:{port}/health", proc, timeout=180)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_search_logs_through_an_mlflow_server(
    ray_local: None, mlflow_server: str, tmp_path: Path
) -> None:
    raw = base_spec(
        "server_it",
        tmp_path,
        search={"strategy": "coarse_to_fine", "seed": 5, "stages": [{"trials": 3}, {"trials": 2}]},
        budget={"epochs": 1},
    )
    spec = load_spec(write_spec(tmp_path / "server.yaml", raw))
    summary = run_search(spec, tracking_uri=mlflow_server, out=io.StringIO())
    assert summary.counts == {"FINISHED": 5}

    runner = CliRunner()
    table = runner.invoke(
        cli, ["trials", "server_it", "--format", "json", "--tracking-uri", mlflow_server]
    )
    assert table.exit_code == 0, table.output
    rows = json.loads(table.output)
    assert len(rows) == 5 and sorted(r["stage"] for r in rows) == [1, 1, 1, 2, 2]
    assert rows[0]["run_id"] == summary.best_run_id

    out = tmp_path / "best.yaml"
    exported = runner.invoke(
        cli, ["export", "server_it", "-o", str(out), "--tracking-uri", mlflow_server]
    )
    assert exported.exit_code == 0, exported.output
    assert summary.best_run_id in out.read_text()
