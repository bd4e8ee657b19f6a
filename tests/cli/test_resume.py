"""`searcher resume` refuses what it must not continue, in one line and exit 2, writing nothing;
`searcher run` points at it when the experiment's last search did not finish."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from searcher.cli import cli
from searcher.controller import SearchRun, _begin
from searcher.phases import Phases
from searcher.spec import load_spec
from searcher.tracking import tags as T
from searcher.tracking.orphans import owner_tags
from tests.conftest import SqliteStore, base_spec, write_spec


@pytest.fixture
def store(sqlite_store: SqliteStore) -> tuple[str, MlflowClient, str]:
    """The shared SQLite store with an experiment "exp": (uri, client, experiment id)."""
    return sqlite_store.uri, sqlite_store.client, sqlite_store.experiment("exp")


def _search(client: MlflowClient, experiment: str, status: str, tags: dict[str, str]) -> str:
    run = client.create_run(experiment, tags={T.KIND: T.KIND_SEARCH, **tags})
    if status != "RUNNING":
        client.set_terminated(run.info.run_id, status)
    return run.info.run_id


def _resume(uri: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["resume", "exp", "--tracking-uri", uri, *args])
    return result.exit_code, result.output


def _count_runs(client: MlflowClient, experiment: str) -> list[str]:
    return [(r.info.status) for r in client.search_runs([experiment])]


@pytest.mark.parametrize(
    "setting", ["search.seed=3", "space.lr.low=0.1", "budget.epochs=9", "name=other"]
)
def test_a_setting_that_changes_the_search_is_refused(store: tuple, setting: str) -> None:
    uri, client, experiment = store
    _search(client, experiment, "KILLED", {})
    code, output = _resume(uri, "--set", setting)
    assert code == 2, output
    key = setting.split("=")[0]
    assert output.strip().splitlines() == [
        f"error: --set: {key}: a resumed search keeps its space, strategy and trials; "
        "expected one of resources.*, budget.trial_timeout, search.time_budget, storage_path, "
        "tracking.uri"
    ]
    assert _count_runs(client, experiment) == ["KILLED"]


def test_limits_may_change_on_resume() -> None:
    from searcher.resuming import check_overrides

    check_overrides({"budget": {"trial_timeout": "10m"}, "resources": {"memory": "8GB"}})


def test_a_live_search_is_refused(store: tuple) -> None:
    uri, client, experiment = store
    run_id = _search(client, experiment, "RUNNING", owner_tags())  # this process: alive
    code, output = _resume(uri)
    assert code == 2, output
    assert f"search {run_id} is still running (pid {os.getpid()} on" in output
    assert client.get_run(run_id).info.status == "RUNNING"


def test_a_search_running_on_another_host_needs_force(store: tuple) -> None:
    uri, client, experiment = store
    run_id = _search(client, experiment, "RUNNING", {T.HOST: "elsewhere", T.PID: "4242"})
    code, output = _resume(uri)
    assert code == 2, output
    assert "marked RUNNING by pid 4242 on elsewhere" in output and "--force" in output
    assert client.get_run(run_id).info.status == "RUNNING"


def test_nothing_to_resume_when_every_search_finished(store: tuple) -> None:
    uri, client, experiment = store
    run_id = _search(client, experiment, "FINISHED", {})
    code, output = _resume(uri)
    assert code == 2, output
    assert f"has no unfinished search; its latest, {run_id}, finished" in output
    code, output = _resume(uri, "--search", run_id)
    assert code == 2 and f"search {run_id} finished; there is nothing to resume" in output


def test_an_older_unfinished_search_behind_a_finished_one_is_named_not_resumed(
    store: tuple,
) -> None:
    """Two specs with one name: resuming the older search unasked would surprise."""
    from searcher.tracking.resume import find_resumable

    uri, client, experiment = store
    killed = _search(client, experiment, "KILLED", {})
    finished = _search(client, experiment, "FINISHED", {})
    code, output = _resume(uri)
    assert code == 2, output
    assert output.strip().splitlines() == [
        f"error: experiment 'exp' has no unfinished search; its latest, {finished}, finished; "
        f"an older one, {killed}, ended KILLED: `searcher resume exp --search {killed}` "
        "continues that one"
    ]
    assert find_resumable(client, "exp", killed).search_id == killed
    assert _count_runs(client, experiment) == ["FINISHED", "KILLED"]


def test_run_says_resume_exists_when_the_last_search_did_not_finish(
    store: tuple, tmp_path: Path
) -> None:
    _, client, experiment = store
    killed = _search(client, experiment, "KILLED", {})
    raw = base_spec("exp", tmp_path)
    spec = load_spec(write_spec(tmp_path / "spec.yaml", raw))

    def run(out: io.StringIO) -> SearchRun:
        strategy = spec.build_strategy()
        return SearchRun(spec, strategy, None, "", "", None, out, Phases(), 0.0, client, experiment)

    out = io.StringIO()
    new = _begin(run(out))
    assert new != killed
    assert (
        f"the last search of experiment exp, {killed}, ended KILLED; `searcher resume exp` "
        "continues it" in out.getvalue()
    )
    out = io.StringIO()
    client.set_terminated(new, "FINISHED")
    _begin(run(out))
    assert "searcher resume" not in out.getvalue()
