"""searcher extend: exactly the asked number of trials more, under the same parent run, with
unique keys; the extension is what a longer search would have run; kill -9 during it is
completed by resume."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

import searcher
from dashboards.report import build_report
from searcher.cli import cli
from searcher.controller import run_search
from searcher.errors import SpecError
from searcher.extending import longer
from searcher.spec import load_spec
from searcher.tracking.queries import find_search, trial_runs
from searcher.tracking.search_view import load_views
from tests.conftest import paced_spec, write_spec
from tests.processes import sigkill_when_logged

pytestmark = pytest.mark.integration


def _keys(client: MlflowClient, name: str) -> Counter:
    runs = trial_runs(client, find_search(client, name))
    return Counter(r.data.tags["searcher.trial_key"] for r in runs if r.info.status == "FINISHED")


@pytest.mark.parametrize("strategy", ["coarse_to_fine", "random"])
def test_extend_adds_the_asked_trials_under_the_same_run(
    ray_local: None, tmp_path: Path, sqlite_uri: str, strategy: str
) -> None:
    raw = paced_spec(f"ext_{strategy}", pace=0.0)
    raw["search"] = {"strategy": strategy, "seed": 0, "trials": 10}
    spec = load_spec(write_spec(tmp_path / "s.yaml", raw))
    first = run_search(spec, tracking_uri=sqlite_uri, out=io.StringIO())
    client = MlflowClient(sqlite_uri)
    before = _keys(client, spec.name)
    summary = searcher.extend(spec.name, 7, tracking_uri=sqlite_uri, out=io.StringIO())
    after = _keys(client, spec.name)
    assert summary.search_id == first.search_id  # the same parent run
    assert sum(after.values()) == 17 and set(after.values()) == {1}  # unique keys
    assert set(before) <= set(after)
    assert client.get_run(first.search_id).info.status == "FINISHED"
    # What a 17-trial search would have asked after the same first 10: the same keys.
    longer = load_spec(
        write_spec(tmp_path / "l.yaml", {**raw, "search": {**raw["search"], "trials": 17}})
    )
    expected = {t for t in _asked(longer)}
    if strategy == "random":
        assert set(after) == expected
    else:  # the 10 ran as stages 10; 7 more are zoom stages after them
        assert len([k for k in after if not k.startswith("1-")]) == 7
    # The report shows the extension as a later stage: zoom stages, or the extend's own.
    (view,) = load_views(client, [spec.name])
    stages = Counter(view.trials["stage"])
    assert sum(n for s, n in stages.items() if s > 1) >= 7 and len(stages) >= 2
    if strategy == "random":
        assert stages == {1: 10, 2: 7}
        page = build_report([view])
        assert "<td>2</td><td>7</td><td>searcher extend</td>" in page


def _asked(spec) -> list[str]:  # noqa: ANN001
    strategy = spec.build_strategy()
    keys = []
    while (trial := strategy.ask()) is not None and hasattr(trial, "key"):
        keys.append(trial.key)
        strategy.tell(trial.key, 0.0)
    return keys


def test_extend_refuses_grid_and_a_search_it_cannot_find(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        longer({"search": {"strategy": "grid", "grid_points": 3}}, 5, 27, "search x")
    assert "expected a strategy that can ask for more trials than its grid" in str(caught.value)
    store = str(tmp_path / "s.db")
    result = CliRunner().invoke(
        cli, ["extend", "nothing_here", "--trials", "3", "--tracking-uri", store]
    )
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_kill_9_during_extend_is_completed_by_resume(
    ray_local: None, tmp_path: Path, sqlite_uri: str
) -> None:
    raw = paced_spec("ext_kill", pace=0.4)
    raw["search"] = {"strategy": "random", "seed": 0, "trials": 4}
    spec = load_spec(write_spec(tmp_path / "s.yaml", raw))
    run_search(spec, tracking_uri=sqlite_uri, out=io.StringIO())
    args = ["extend", "ext_kill", "--trials", "6", "--tracking-uri", sqlite_uri]
    sigkill_when_logged(args, tmp_path / "extend.log", r"\] 1-00[4-9] FINISHED")
    client = MlflowClient(sqlite_uri)
    assert 4 < sum(_keys(client, "ext_kill").values()) < 10
    again = CliRunner().invoke(
        cli, ["extend", "ext_kill", "--trials", "2", "--tracking-uri", sqlite_uri]
    )
    assert again.exit_code == 2 and "searcher resume ext_kill` completes it" in again.output
    resumed = CliRunner().invoke(cli, ["resume", "ext_kill", "--tracking-uri", sqlite_uri])
    assert resumed.exit_code == 0, resumed.output
    keys = _keys(client, "ext_kill")
    assert sorted(keys) == [f"1-{i:03d}" for i in range(10)] and set(keys.values()) == {1}
    runs = trial_runs(client, find_search(client, "ext_kill"))
    assert "RUNNING" not in {r.info.status for r in runs}
    assert client.get_run(find_search(client, "ext_kill").search_id).info.status == "FINISHED"
