"""search.start_with end to end: bad configurations are one line; good ones run first, with
their values exactly, and are marked as given in the store, the table and the report."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from searcher.cli import cli
from searcher.controller import run_search
from searcher.spec import load_spec
from searcher.spec.yaml_io import dump_yaml
from searcher.tracking.queries import find_search, trial_runs
from tests.conftest import paced_spec, write_spec
from tests.spec.test_bad_input import _check

GIVEN = [{"lr": 0.003, "width": 32}, {"lr": 0.0123}]


def _spec(start_with: Any, **search: Any) -> dict[str, Any]:
    spec = paced_spec("given", pace=0.0)
    spec["search"] = {**spec["search"], **search, "start_with": start_with}
    return spec


@pytest.mark.parametrize(
    ("start_with", "search", "message"),
    [
        ([{"lr": 3.0}], {}, "search.start_with.0.lr: expected a value in log [0.0001, 1], got 3.0"),
        (
            [{"lr": 0.01}, {"depth": 2}],
            {},
            "search.start_with.1.depth: expected one of lr, width, got an unknown name",
        ),
        (
            [{"pace": 0.1}],
            {},
            "search.start_with.0.pace: expected a tuned parameter, got a fixed one",
        ),
        (
            [{"width": 24}],
            {},
            "search.start_with.0.width: expected a power of two (pow2 [8, 128]), got 24",
        ),
        (
            [{"lr": 0.01 + i / 1000} for i in range(11)],
            {},
            "search.start_with: expected at most 6 configurations (the coarse stage's trials), "
            "got 11",
        ),
        (
            [{"lr": 0.01}],
            {"strategy": "grid", "stages": None},
            "search.start_with: expected no start_with for strategy grid, which runs its grid, "
            "got [{'lr': 0.01}]",
        ),
    ],
)
def test_bad_configurations_are_one_line(
    start_with: Any, search: dict[str, Any], message: str, tmp_path: Path
) -> None:
    spec = _spec(start_with, **search)
    spec["search"] = {k: v for k, v in spec["search"].items() if v is not None}
    line = _check(dump_yaml(spec).encode(), tmp_path)
    assert line.endswith(message), line


@pytest.mark.integration
def test_given_configurations_run_first_and_are_marked(
    ray_local: None, tmp_path: Path, sqlite_uri: str
) -> None:
    spec = load_spec(write_spec(tmp_path / "given.yaml", _spec(GIVEN)))
    summary = run_search(spec, tracking_uri=sqlite_uri, out=io.StringIO())
    assert summary.counts == {"FINISHED": 10}
    client = MlflowClient(sqlite_uri)
    runs = {
        r.data.tags["searcher.trial_key"]: r
        for r in trial_runs(client, find_search(client, "given"))
    }
    assert len(runs) == 10
    assert {k for k, r in runs.items() if r.data.tags.get("searcher.given") == "true"} == {
        "1-000",
        "1-001",
    }
    assert runs["1-000"].data.params == {"lr": "0.003", "width": "32", "pace": "0.0", "epochs": "3"}
    assert runs["1-001"].data.params["lr"] == "0.0123"
    runner = CliRunner()
    table = runner.invoke(
        cli, ["trials", "given", "--format", "json", "--tracking-uri", sqlite_uri]
    )
    rows = {r["trial"]: r for r in json.loads(table.stdout)}
    assert [k for k, r in sorted(rows.items()) if r["given"]] == ["1-000", "1-001"]
    report = tmp_path / "report.html"
    made = runner.invoke(cli, ["report", "given", "-o", str(report), "--tracking-uri", sqlite_uri])
    assert made.exit_code == 0, made.output
    assert "2 trials ran start_with configurations (1-000 " in report.read_text()


def test_the_python_api_takes_start_with(tmp_path: Path) -> None:
    import searcher
    from searcher.errors import SpecError

    with pytest.raises(SpecError) as caught:
        searcher.run(_spec([]), start_with=[{"lr": 5.0}], tracking_uri=str(tmp_path / "s.db"))
    assert "search.start_with.0.lr: expected a value in log [0.0001, 1], got 5.0" in str(
        caught.value
    )
    assert list(tmp_path.iterdir()) == []  # nothing written
