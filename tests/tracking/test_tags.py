"""The tag schema: MLflow's limits, and long values kept whole in artifacts instead of clipped."""

from __future__ import annotations

import io
import json
from pathlib import Path

import mlflow.utils.validation as mlflow_limits

from search_spaces.strategies.base import StageRecord
from search_spaces.trial import TrialResult
from searcher.controller import SearchSummary, _print_summary
from searcher.spec import load_spec
from searcher.tracking import tags as T
from searcher.tracking.queries import find_search
from searcher.tracking.runs import log_long_tags
from searcher.tracking.search_run import finish_search_run
from searcher.tracking.search_view import stages
from tests.conftest import SqliteStore, base_spec, write_spec


def test_limits_match_mlflow() -> None:
    assert T.MAX_TAG_VALUE == mlflow_limits.MAX_TAG_VAL_LENGTH
    assert T.MAX_PARAM_VALUE == mlflow_limits.MAX_PARAM_VAL_LENGTH
    assert T.MAX_METRICS_PER_BATCH == mlflow_limits.MAX_METRICS_PER_BATCH
    assert T.MAX_PARAMS_TAGS_PER_BATCH == mlflow_limits.MAX_PARAMS_TAGS_PER_BATCH


def test_stage_tag_names_round_trip() -> None:
    assert T.parse_stage_tag(T.stage_tag(12, "box")) == (12, "box")
    assert T.parse_stage_tag(T.stage_tag(3, "ranges")) == (3, "ranges")
    assert T.parse_stage_tag("searcher.stage") is None
    assert T.parse_stage_tag("searcher.stage.x.box") is None


def test_split_long_moves_only_long_values() -> None:
    long = "x" * (T.MAX_TAG_VALUE + 1)
    short, overflow = T.split_long({"a": "short", "b": long, "c": "y" * T.MAX_TAG_VALUE})
    assert short["a"] == "short" and short["c"] == "y" * T.MAX_TAG_VALUE
    assert short["b"] == T.ARTIFACT_POINTER + "tags/b.txt"
    assert overflow == {"tags/b.txt": long}


def _store(store: SqliteStore) -> tuple[object, str, str]:
    experiment_id = store.experiment("tags")
    run_id = store.client.create_run(experiment_id, tags={T.KIND: T.KIND_SEARCH}).info.run_id
    return store.client, experiment_id, run_id


def test_a_box_too_long_for_a_tag_is_read_back_whole(sqlite_store: SqliteStore) -> None:
    client, _, run_id = _store(sqlite_store)
    names = [f"param_with_a_long_name_{i:04d}" for i in range(400)]
    box = {"intervals": {n: [0.125, 0.875] for n in names}, "categories": {}}
    ranges = {n: "[0.000123, 0.0456]" for n in names}
    assert len(json.dumps(box)) > T.MAX_TAG_VALUE
    best = TrialResult("2-000", 2, {n: 0.5 for n in names}, {}, 0.9)
    finish_search_run(
        client,
        run_id,
        metric="acc",
        boxes=[StageRecord(2, 8, box, ranges)],
        best=best,
        best_run_id="r1",
        counts={"FINISHED": 1},
        warnings=["w" * 9000],
        logging_errors=["OperationalError: database is locked"],
        status="FINISHED",
    )
    run = client.get_run(run_id)
    assert run.data.tags[T.stage_tag(2, "box")].startswith(T.ARTIFACT_POINTER)
    assert run.info.status == "FINISHED"
    assert T.resolve_tag(client, run, T.WARNINGS) == "w" * 9000
    assert T.resolve_tag(client, run, T.LOGGING_ERRORS) == "OperationalError: database is locked"
    boxes, read_ranges, branches = stages(client, run)
    assert boxes[2].intervals == {n: (0.125, 0.875) for n in names}
    assert read_ranges[2] == ranges
    assert branches == {}  # a flat space's stages have no branches


def test_short_values_stay_plain_tags(sqlite_store: SqliteStore) -> None:
    client, _, run_id = _store(sqlite_store)
    log_long_tags(client, run_id, {T.WARNINGS: "lr at the edge"})
    run = client.get_run(run_id)
    assert run.data.tags[T.WARNINGS] == "lr at the edge"
    assert T.resolve_tag(client, run, T.WARNINGS) == "lr at the edge"
    assert T.resolve_tag(client, run, "searcher.absent", "none") == "none"


def test_the_summary_prints_logging_errors(tmp_path: Path) -> None:
    spec = load_spec(write_spec(tmp_path / "s.yaml", base_spec("tags", tmp_path)))
    summary = SearchSummary(
        search_id="p",
        experiment="tags",
        tracking_uri="sqlite:///x",
        planned=2,
        counts={"FINISHED": 2},
        best_key="1-000",
        best_score=0.9,
        best_params={"lr": 0.01},
        best_run_id="r",
        logging_errors=["OperationalError: database is locked"],
    )
    out = io.StringIO()
    _print_summary(summary, spec, out)
    text = out.getvalue()
    assert "1 logging error(s)" in text
    assert "OperationalError: database is locked" in text


def test_find_search_reads_the_metric_and_mode_tags(sqlite_store: SqliteStore) -> None:
    client, experiment_id, run_id = _store(sqlite_store)
    client.set_tag(run_id, T.METRIC, "val_loss")
    client.set_tag(run_id, T.MODE, "min")
    search = find_search(client, "tags")  # type: ignore[arg-type]
    assert (search.search_id, search.metric, search.mode) == (run_id, "val_loss", "min")
