"""search.time_budget: no trial starts after it, running trials finish, and the search ends
FINISHED saying how many of its planned trials ran."""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

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

pytestmark = pytest.mark.integration


def test_a_time_budget_ends_the_search_finished_with_what_it_ran(
    ray_local: None, tmp_path: Path, sqlite_uri: str
) -> None:
    raw = paced_spec("budgeted", pace=0.5)  # 1.5 s a trial, two at a time, 10 planned
    raw["search"]["time_budget"] = "4s"
    spec = load_spec(write_spec(tmp_path / "b.yaml", raw))
    out = io.StringIO()
    summary = run_search(spec, tracking_uri=sqlite_uri, out=out)
    assert summary.ended_by is not None and not summary.interrupted
    found = re.fullmatch(r"time budget reached after (\d+) of 10 planned trials", summary.ended_by)
    assert found, summary.ended_by
    ran = int(found.group(1))
    assert 0 < ran < 10
    assert summary.ended_by in out.getvalue()
    client = MlflowClient(sqlite_uri)
    search = find_search(client, "budgeted")
    parent = client.get_run(search.search_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["searcher.ended_by"] == summary.ended_by
    runs = trial_runs(client, search)
    assert len(runs) == ran and {r.info.status for r in runs} == {"FINISHED"}
    # No trial started after the budget (the parent's start plus 4 s, with a second for the
    # clocks of the driver and the store).
    last_start = max(r.info.start_time for r in runs)
    assert last_start <= parent.info.start_time + 5000
    # Its plan has trials left: extend refuses to stack more on them; resume, with a new
    # budget, runs the rest and the search ends with its whole plan.
    runner = CliRunner()
    refused = runner.invoke(
        cli, ["extend", "budgeted", "--trials", "3", "--tracking-uri", sqlite_uri]
    )
    assert refused.exit_code == 2 and "ended early (time budget reached" in refused.output
    resumed = runner.invoke(
        cli, ["resume", "budgeted", "--set", "search.time_budget=1h", "--tracking-uri", sqlite_uri]
    )
    assert resumed.exit_code == 0, resumed.output
    runs = trial_runs(client, search)
    keys = Counter(r.data.tags["searcher.trial_key"] for r in runs if r.info.status == "FINISHED")
    assert sum(keys.values()) == 10 and set(keys.values()) == {1}
    parent = client.get_run(search.search_id)
    assert parent.info.status == "FINISHED" and "searcher.ended_by" not in parent.data.tags


def test_a_bad_time_budget_is_one_line(tmp_path: Path) -> None:
    raw = paced_spec("budgeted")
    raw["search"]["time_budget"] = "2 hours"
    line = _check(dump_yaml(raw).encode(), tmp_path)
    assert "search.time_budget: expected a duration such as 90s, 20m, 2h or 1h30m" in line, line
