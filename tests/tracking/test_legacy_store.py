"""A store written by searcher 0.1.0 (tests/fixtures/store-0.1.0.sqlite, no records) is read
as that version wrote it: trials, best, export, report, the API, and resume.

The expected values are those the fixture's searches printed when make_legacy_store.py made
it; each test works on a copy, never on the committed file.
"""

from __future__ import annotations

import io
import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

import searcher
from searcher.cli import cli
from searcher.tracking import tags as T
from tests.fixtures import make_legacy_store

FIXTURE = Path(__file__).parents[1] / "fixtures" / "store-0.1.0.sqlite"
KEYS = ["1-000", "1-001", "1-002", "1-003", "2-000", "2-001", "2-002"]
BEST = {"act": "tanh", "epochs": 2, "lr": pytest.approx(0.002767164, rel=1e-6), "pace": 0.0}
BEST |= {"width": 64}
COLUMNS = ["trial", "stage", "status", "score"]
COLUMNS += [f"params.{n}" for n in ("act", "epochs", "lr", "pace", "width")] + ["error", "run_id"]


def _copy(directory: Path) -> str:
    copy = directory / "store-0.1.0.sqlite"
    shutil.copyfile(FIXTURE, copy)
    return f"sqlite:///{copy}"


@pytest.fixture(scope="module")
def uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One copy for the tests that only read it."""
    return _copy(tmp_path_factory.mktemp("legacy"))


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _runs(uri: str, experiment: str) -> dict[str, list]:
    """The trial runs of an experiment's only search by key, as MLflow holds them."""
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    runs: dict[str, list] = {}
    for run in client.search_runs([exp.experiment_id], f"tags.`{T.KIND}` = '{T.KIND_TRIAL}'"):
        runs.setdefault(run.data.tags[T.TRIAL_KEY], []).append(run)
    return runs


def _params(run) -> dict:  # noqa: ANN001 - an MLflow Run
    return {k: yaml.safe_load(v) for k, v in run.data.params.items()}


def test_trials_reads_every_trial_of_a_0_1_0_store(uri: str) -> None:
    text = _cli("trials", "legacy_done", "--tracking-uri", uri, "--format", "csv")
    frame = pd.read_csv(io.StringIO(text), keep_default_na=False, na_values=[""])
    assert list(frame.columns) == COLUMNS
    assert sorted(frame["trial"]) == KEYS
    assert frame["status"].value_counts().to_dict() == {"FINISHED": 6, "FAILED": 1}
    assert frame["trial"].iloc[0] == "1-000"
    failed = frame[frame["status"] == "FAILED"].iloc[0]
    assert failed["trial"] == "1-002" and math.isnan(failed["score"])
    assert failed["error"].startswith("ValueError: lr 0.305 diverges")
    runs = _runs(uri, "legacy_done")
    for _, row in frame.iterrows():
        (run,) = runs[row["trial"]]
        assert row["run_id"] == run.info.run_id
        assert {k: row[f"params.{k}"] for k in _params(run)} == _params(run)
        assert row["stage"] == int(row["trial"][0])
    records = json.loads(_cli("trials", "legacy_done", "--tracking-uri", uri, "--format", "json"))
    assert [r["trial"] for r in records] == list(frame["trial"])
    assert records[0]["params.width"] == 64 and records[0]["params.act"] == "tanh"


def test_the_trials_table_shows_bare_names(uri: str) -> None:
    lines = _cli("trials", "legacy_done", "--tracking-uri", uri).splitlines()
    assert lines[0].split() == [c.removeprefix("params.") for c in COLUMNS]
    assert len(lines) == 1 + len(KEYS)
    first = lines[1].split()
    assert first[:9] == ["1-000", "1", "FINISHED", "-0.5534", "tanh", "2", "0.002767", "0", "64"]


def test_best_and_the_api_give_1_000(uri: str) -> None:
    shown = dict(
        line.split(None, 1)
        for line in _cli("best", "legacy_done", "--tracking-uri", uri).splitlines()
    )
    assert shown["trial"].strip() == "1-000" and shown["act"].strip() == "tanh"
    assert shown["width"].strip() == "64" and float(shown["lr"]) == pytest.approx(0.002767, 1e-3)
    (run,) = _runs(uri, "legacy_done")["1-000"]
    top = searcher.best("legacy_done", tracking_uri=uri)
    assert (top.key, top.metric, top.run_id) == ("1-000", "score", run.info.run_id)
    assert top.score == pytest.approx(-0.55336, abs=1e-5) and top.params == BEST
    assert type(top.params["width"]) is int and top.params["lr"] == float(run.data.params["lr"])
    frame = searcher.trials("legacy_done", tracking_uri=uri)
    assert list(frame.columns) == COLUMNS and frame.attrs["metric"] == "score"
    assert frame.iloc[0]["run_id"] == top.run_id


def test_export_fixes_the_best_values_and_validates(uri: str, tmp_path: Path) -> None:
    out = tmp_path / "best.yaml"
    _cli("export", "legacy_done", "-o", str(out), "--tracking-uri", uri)
    spec = yaml.safe_load(out.read_text())
    assert {n: e["value"] for n, e in spec["space"].items()} == BEST
    assert all(e["scale"] == "value" for e in spec["space"].values())
    assert spec["name"] == "legacy_done_best" and spec["search"]["strategy"] == "grid"
    assert "1-000" in out.read_text().splitlines()[0]
    assert "ok" in _cli("validate", str(out))


def test_report_draws_every_trial(uri: str, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    _cli("report", "legacy_done", "-o", str(out), "--tracking-uri", uri)
    text = out.read_text()
    for key in KEYS:
        assert f"{key} FINISHED" in text or f"{key} FAILED" in text, key
    assert "tanh" in text and "Parameter importance" in text


@pytest.mark.integration
def test_resume_of_a_0_1_0_search(ray_local: None, tmp_path: Path) -> None:
    """The interrupted search continues: kept trials stay, the KILLED one and those never run
    run once each. Stage 1's trials are the uninterrupted search's (legacy_done, same spec);
    stage 2's are picked by this version's zoom model (a Gaussian process since issue 21, where
    0.1.0 had a quadratic or kernel smoother), so only their keys and stage are the same."""
    uri = _copy(tmp_path)
    before = _runs(uri, "legacy_stopped")
    assert sorted(before) == ["1-000", "1-001", "1-002", "1-003", "2-000"]
    (killed,) = before["2-000"]
    assert killed.info.status == "KILLED"
    output = _cli("resume", "legacy_stopped", "--tracking-uri", uri)
    assert "4 of 7 trials kept, 3 to run" in output
    after = _runs(uri, "legacy_stopped")
    assert sorted(after) == KEYS
    done = {
        k: [r for r in runs if r.info.status in ("FINISHED", "FAILED")] for k, runs in after.items()
    }
    assert all(len(runs) == 1 for runs in done.values()), done
    assert not [r for runs in after.values() for r in runs if r.info.status == "RUNNING"]
    assert [r.info.status for r in after["2-000"] if r.info.run_id == killed.info.run_id] == [
        "KILLED"
    ]
    for key in ("1-000", "1-001", "1-002", "1-003"):
        assert done[key][0].info.run_id == before[key][0].info.run_id, f"{key} ran again"
    uninterrupted = _runs(uri, "legacy_done")
    for key in KEYS[:4]:
        got, want = _params(done[key][0]), _params(uninterrupted[key][0])
        assert got["act"] == want["act"] and got["width"] == want["width"], key
        assert got["lr"] == pytest.approx(want["lr"], rel=1e-12), key
        assert done[key][0].info.status == uninterrupted[key][0].info.status, key
    for key in KEYS[4:]:
        got, want = _params(done[key][0]), _params(uninterrupted[key][0])
        assert got.keys() == want.keys() and got["act"] in ("relu", "tanh"), key
        assert done[key][0].info.status == "FINISHED", key
    top = searcher.best("legacy_stopped", tracking_uri=uri)
    assert top.key == "1-000" and top.params == {**BEST, "pace": 1.5}


def _legacy_spec(name: str, pace: float = 0.0, **space: object) -> dict:
    """The fixture's spec (the one make_legacy_store.py ran), with space entries changed."""
    spec = make_legacy_store.spec(name, pace)
    spec["space"].update(space)
    return spec


def test_a_new_search_unlike_the_last_one_is_warned_about(uri: str, tmp_path: Path) -> None:
    from searcher.controller import SearchRun, _drift_from_last
    from searcher.phases import Phases
    from searcher.spec import validate_spec
    from searcher.tracking.resume import latest_search
    from searcher.tracking.store import open_store

    client = open_store(uri)
    experiment = client.get_experiment_by_name("legacy_done").experiment_id

    def warnings(raw: dict) -> list[str]:
        spec = validate_spec(raw, "<spec>")
        run = SearchRun(spec, spec.build_strategy(), None, uri, "", None, io.StringIO(),
                        Phases(), 0.0, client, experiment)  # fmt: skip
        return _drift_from_last(run, latest_search(client, experiment))

    assert warnings(_legacy_spec("legacy_done")) == [], "the same search: nothing to say"
    wider = _legacy_spec("legacy_done", width={"scale": "pow2", "low": 8, "high": 256})
    [line] = warnings({**wider, "metric": {"name": "score", "mode": "min"}})
    assert line.startswith("warning: the last search of experiment legacy_done, ")
    assert "differs in metric.mode: 'max' -> 'min'; space.width.high: 128 -> 256:" in line


def test_resume_notes_a_spec_file_edited_since_the_search_ran(uri: str, tmp_path: Path) -> None:
    from searcher.resuming import file_differs
    from searcher.tracking.queries import find_search
    from searcher.tracking.readers import written_spec
    from searcher.tracking.store import open_store
    from tests.conftest import write_spec

    client = open_store(uri)
    search = find_search(client, "legacy_stopped")
    written = written_spec(client, search.run)
    same = write_spec(tmp_path / "same.yaml", {**_legacy_spec("legacy_stopped", pace=1.5)})
    assert file_differs(str(same), written, search.search_id) is None
    moved = _legacy_spec("legacy_stopped", pace=1.5, lr={"scale": "log", "low": 1e-3, "high": 1.0})
    edited = write_spec(tmp_path / "edited.yaml", {**moved, "resources": {"cpu": 2}})
    note = file_differs(str(edited), written, search.search_id)
    assert note == (
        f"note: {edited} differs from the spec search {search.search_id} ran with "
        "(space.lr.low: 0.0001 -> 0.001); resume runs the recorded one"
    ), "resources may change on resume and are not named"
