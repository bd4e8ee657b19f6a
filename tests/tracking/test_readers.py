"""The readers of a store: records read back exactly, a newer schema refused in one line, and
the console's readable headers (bare names only where nothing collides)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from dashboards.columns import readable_names
from search_spaces.trial import Trial
from searcher.cli import cli
from searcher.tracking import tags as T
from searcher.tracking.readers import read_search, read_trial
from searcher.tracking.records import RecordError, SearchRecord, trial_record
from searcher.tracking.runs import log_long_tags
from searcher.tracking.store import ensure_experiment, open_store

PARAMS = {"n": 3, "flag": True, "s": "1e-3", "x": 0.1, "opt": "adam", "status": "not-a-status"}
TRIAL = Trial("2-001", 2, {"n": 0.25, "x": 0.5}, PARAMS)


@pytest.fixture
def store(tmp_path: Path) -> tuple[str, MlflowClient, str]:
    uri = f"sqlite:///{tmp_path / 'mlruns.db'}"
    client = open_store(uri)
    return uri, client, ensure_experiment(client, uri, "exp")  # artifacts beside the store


def _search(client: MlflowClient, exp: str, tags: dict[str, str]) -> str:
    base = {T.KIND: T.KIND_SEARCH, T.METRIC: "acc", T.MODE: "max"}
    return client.create_run(exp, tags={**base, **tags}).info.run_id


def _trial(client: MlflowClient, exp: str, parent: str, record: str) -> str:
    run_id = client.create_run(exp, tags={T.PARENT: parent, T.KIND: T.KIND_TRIAL}).info.run_id
    log_long_tags(client, run_id, {T.TRIAL_RECORD: record})
    client.log_metric(run_id, T.best_metric("acc"), 0.75)
    client.set_terminated(run_id, "FINISHED")
    return run_id


def test_a_trial_record_reads_back_exactly(store: tuple) -> None:
    _, client, exp = store
    run_id = _trial(client, exp, _search(client, exp, {}), trial_record(TRIAL))
    row = read_trial(client, client.get_run(run_id), "acc")
    assert row.trial == TRIAL and row.recorded
    assert [type(row.trial.params[k]) for k in ("n", "flag", "s")] == [int, bool, str]
    assert (row.status, row.score, row.error, row.run_id) == ("FINISHED", 0.75, "", run_id)


def test_a_record_too_long_for_a_tag_is_read_from_its_artifact(store: tuple) -> None:
    _, client, exp = store
    trial = Trial("1-000", 1, {}, {"text": "a" * (T.MAX_TAG_VALUE + 10)})
    run_id = _trial(client, exp, _search(client, exp, {}), trial_record(trial))
    run = client.get_run(run_id)
    assert run.data.tags[T.TRIAL_RECORD].startswith(T.ARTIFACT_POINTER)
    assert read_trial(client, run, "acc").trial == trial


def test_a_search_record_reads_back_and_a_0_1_0_search_gives_its_raw_spec(store: tuple) -> None:
    _, client, exp = store
    record = SearchRecord({"name": "exp", "space": {"lr": [1, 2]}}, (4, 3), 7)
    found = read_search(
        client, client.get_run(_search(client, exp, {T.SEARCH_RECORD: record.to_json()}))
    )
    assert found.record == record and found.spec == record.spec
    assert found.space.tuned_names == ["lr"]
    legacy = client.get_run(_search(client, exp, {T.SPEC: "name: exp\nspace: {lr: 0.1}\n"}))
    assert read_search(client, legacy) == type(found)({"name": "exp", "space": {"lr": 0.1}}, None)


def test_a_record_of_a_newer_schema_is_refused_in_one_line(store: tuple) -> None:
    uri, client, exp = store
    newer = json.dumps({"schema": 2, "kind": "trial", **TRIAL.to_wire()})
    run_id = _trial(client, exp, _search(client, exp, {}), newer)
    with pytest.raises(RecordError, match="schema 2; this searcher reads up to 1"):
        read_trial(client, client.get_run(run_id), "acc")
    result = CliRunner().invoke(cli, ["trials", "exp", "--tracking-uri", uri])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: a trial record has schema 2; this searcher reads up to 1: "
        "upgrade searcher to read this store"
    ]


FIXED = ["trial", "stage", "status", "score"]


@pytest.mark.parametrize(
    ("columns", "metric", "shown"),
    [
        # Nothing collides: bare parameter names, the score headed by its metric.
        (["params.lr", "params.act"], "val_accuracy", ["lr", "act", "val_accuracy"]),
        # A parameter named like a column keeps its prefix; the others lose theirs.
        (["params.status", "params.lr"], "acc", ["params.status", "lr", "acc"]),
        # The metric named like a parameter (or a column): the score stays "score".
        (["params.loss"], "loss", ["loss", "score"]),
        (["params.x"], "trial", ["x", "score"]),
        (["params.score"], "score", ["params.score", "score"]),
        # Columns the report adds count too, and a prefixed name is never shown twice.
        (["params.order", "order"], "m", ["params.order", "order", "m"]),
        (["params.x", "params.params.x"], "m", ["x", "params.params.x", "m"]),
    ],
)
def test_readable_names(columns: list[str], metric: str, shown: list[str]) -> None:
    names = readable_names([*FIXED, *columns], metric)
    assert [names[c] for c in [*FIXED[:3], *columns, "score"]] == [
        "trial",
        "stage",
        "status",
        *shown,
    ]
    assert len(set(names.values())) == len(names)


def test_readable_names_without_a_metric_or_params_are_the_columns() -> None:
    assert readable_names(["lr", "batch_size"]) == {"lr": "lr", "batch_size": "batch_size"}


def test_a_search_record_keeps_the_space_in_its_order() -> None:
    """The order is the search: strategies sample and grids vary in it."""
    spec = {"name": "exp", "space": {"lr": [1, 2], "batch_size": [8, 16], "a": 0.1}}
    back = SearchRecord.from_json(SearchRecord(spec, (3,), 3).to_json())
    assert list(back.spec["space"]) == ["lr", "batch_size", "a"]


def test_a_0_1_0_param_reads_back_as_str_wrote_it() -> None:
    from searcher.tracking.readers import parse_param

    written = [3, 0.001, 1e-05, True, False, None, "off", "yes", "adam", "[1, 2]"]
    assert [parse_param(str(value)) for value in written] == written


def test_a_scored_trial_with_a_note_is_kept_as_finished_on_resume() -> None:
    from search_spaces.space import SearchSpace
    from searcher.tracking.readers import TrialRow
    from searcher.tracking.resume import recorded_result

    space = SearchSpace.from_mapping({"x": {"scale": "linear", "low": 0, "high": 1}})
    trial = Trial("1-000", 1, {"x": 0.5}, {"x": 0.5})
    early = TrialRow(trial, "FINISHED", 0.8, "stopped early after 1 of 3 epochs", "r", 0, 1, True)
    assert not recorded_result(early, space, "acc").failed
    unscored = TrialRow(trial, "FINISHED", None, "", "r", 0, 1, True)
    assert recorded_result(unscored, space, "acc").error == "no acc was recorded"
    failed = TrialRow(trial, "FAILED", 0.3, "boom", "r", 0, 1, True)
    assert recorded_result(failed, space, "acc").error == "boom"


def test_an_extended_record_keeps_its_rounds_and_an_older_one_has_none() -> None:
    first = SearchRecord({"name": "exp"}, (10,), 10)
    assert SearchRecord.from_json(first.to_json()).rounds == ()
    assert '"rounds"' not in first.to_json()  # a record never extended reads as before
    twice = first.extended({"name": "exp"}, (17,), 17).extended({"name": "exp"}, (20,), 20)
    back = SearchRecord.from_json(twice.to_json())
    assert back.rounds == (10, 17, 20) and back.planned_trials == 20 and back.stages == (20,)
