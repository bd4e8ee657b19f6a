"""Part 5 of issue 19: a search whose space names entries like the trials table's own columns.

Every reader (the trials table, csv and json, best, export, the report, the Python API) shows
each value as the workload received it (its ``ran_*`` metrics), and searcher's own columns
(trial, stage, status, score, error, run_id, the report's order) stay searcher's.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from mlflow.tracking import MlflowClient
from named_like_columns import FIXED

import searcher
from searcher.cli import cli
from searcher.controller import run_search
from searcher.spec import load_spec
from searcher.tracking import tags as T
from tests.conftest import WORKLOAD_DIR, write_spec
from tests.report_pages import embedded_figures

pytestmark = pytest.mark.integration

NAME = "named_like_columns"
SPACE = {
    "status": {"scale": "value", "value": "not-a-status"},
    "trial": ["a", "b"],
    "stage": {"scale": "int", "low": 5, "high": 9},
    "order": {"scale": "value", "value": 42},
    "error": {"scale": "value", "value": "no error"},
    "run_id": {"scale": "value", "value": "xyz"},
    "score": {"scale": "linear", "low": 10, "high": 20},
    "key": ["k1", "k2"],
    "lr": {"scale": "log", "low": 1e-3, "high": 1e-1},
    "version": {"scale": "value", "value": "0.10"},
}
PARAMS = sorted(SPACE)
OWN = ["trial", "stage", "status", "score", "error", "run_id"]
COLUMNS = [*OWN[:4], *(f"params.{n}" for n in PARAMS), *OWN[4:]]
# The console: a bare name where it is no column's, and the score headed by the metric.
HEADER = [*OWN[:3], "quality"]
HEADER += [n if n not in OWN else f"params.{n}" for n in PARAMS] + OWN[4:]


@pytest.fixture(scope="module")
def search(ray_local: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The search, and what each of its trials ran with, by run id (from its ran_* metrics)."""
    tmp = tmp_path_factory.mktemp("names")
    uri = f"sqlite:///{tmp / 'mlruns.db'}"
    spec = {
        "name": NAME,
        "workload": "named_like_columns:fit",
        "code_dir": str(WORKLOAD_DIR),
        "metric": {"name": "quality", "mode": "max"},
        "space": SPACE,
        "search": {"strategy": "random", "seed": 4, "trials": 4},
        "resources": {"cpu": 1, "max_concurrent": 2},
    }
    run_search(load_spec(write_spec(tmp / "spec.yaml", spec)), tracking_uri=uri, out=io.StringIO())
    client = MlflowClient(uri)
    (parent,) = client.search_runs(["1"], T.SEARCH_QUERY) or client.search_runs(
        [client.get_experiment_by_name(NAME).experiment_id], T.SEARCH_QUERY
    )
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.`{T.PARENT}` = '{parent.info.run_id}'"
    )
    ran = {}
    for run in children:
        m = run.data.metrics
        values = {**FIXED, "trial": "b" if m["ran_trial_b"] else "a"}
        values |= {"key": "k2" if m["ran_key_k2"] else "k1", "stage": int(m["ran_stage"])}
        values |= {"score": m["ran_score"], "lr": m["ran_lr"]}
        ran[run.info.run_id] = {
            "key": run.data.tags[T.TRIAL_KEY],
            "status": run.info.status,
            "quality": m[T.best_metric("quality")],
            "params": values,
            "run": run,
        }
    best_id = max(ran, key=lambda r: ran[r]["quality"])
    return {"uri": uri, "tmp": tmp, "ran": ran, "best": ran[best_id] | {"run_id": best_id}}


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_the_search_ran_every_trial_and_recorded_its_records(search: dict) -> None:
    ran = search["ran"]
    assert sorted(t["key"] for t in ran.values()) == ["1-000", "1-001", "1-002", "1-003"]
    assert {t["status"] for t in ran.values()} == {"FINISHED"}  # fit checks what it got
    assert all(T.TRIAL_RECORD in t["run"].data.tags for t in ran.values())


def test_csv_and_json_keep_the_full_names_and_every_value(search: dict) -> None:
    uri, ran = search["uri"], search["ran"]
    text = _cli("trials", NAME, "--tracking-uri", uri, "--format", "csv")
    frame = pd.read_csv(io.StringIO(text), keep_default_na=False, dtype={"params.version": str})
    assert list(frame.columns) == COLUMNS
    for _, row in frame.iterrows():
        trial = ran[row["run_id"]]
        assert (row["trial"], row["stage"], row["status"]) == (trial["key"], 1, "FINISHED")
        assert (row["score"], row["error"]) == (pytest.approx(trial["quality"]), "")
        assert {n: row[f"params.{n}"] for n in PARAMS} == trial["params"]
    records = json.loads(_cli("trials", NAME, "--tracking-uri", uri, "--format", "json"))
    assert [r["run_id"] for r in records] == list(frame["run_id"])
    for record in records:
        trial = ran[record["run_id"]]
        assert list(record) == COLUMNS and record["trial"] == trial["key"]
        assert {n: record[f"params.{n}"] for n in PARAMS} == trial["params"]
        assert type(record["params.order"]) is int and record["params.version"] == "0.10"


def test_the_table_shows_bare_names_only_where_nothing_collides(search: dict) -> None:
    lines = _cli("trials", NAME, "--tracking-uri", search["uri"]).splitlines()
    assert lines[0].split() == HEADER
    assert len(lines) == 5
    by_id = {line.split()[-1]: line.split() for line in lines[1:]}
    for run_id, trial in search["ran"].items():
        p = trial["params"]
        values = [p["error"], p["key"], p["lr"], p["order"], p["run_id"], p["score"], p["stage"]]
        values += [p["status"], p["trial"], p["version"]]
        cells = [trial["key"], "1", "FINISHED", trial["quality"], *values, run_id]
        shown = [f"{c:.4g}" if isinstance(c, float) else str(c) for c in cells]
        assert by_id[run_id] == " ".join(shown).split()  # "no error" is two words; error empty


def test_best_shows_the_best_trial_readably(search: dict) -> None:
    output = _cli("best", NAME, "--tracking-uri", search["uri"])
    shown = dict(line.split(None, 1) for line in output.splitlines())
    best = search["best"]
    assert shown["trial"] == best["key"] and shown["status"] == "FINISHED"
    shown_quality = pytest.approx(float(shown["quality"]), rel=1e-5)  # printed to 6 digits
    assert shown["run_id"] == best["run_id"] and shown_quality == best["quality"]
    assert shown["params.status"] == "not-a-status" and shown["params.error"] == "no error"
    assert shown["params.run_id"] == "xyz" and shown["order"] == "42"
    assert (
        shown["params.trial"] == best["params"]["trial"] and shown["key"] == best["params"]["key"]
    )
    assert int(shown["params.stage"]) == best["params"]["stage"]
    assert float(shown["params.score"]) == pytest.approx(best["params"]["score"], rel=1e-5)
    assert shown["version"] == "0.10" and "error" not in shown


def test_export_fixes_every_entry_to_the_best_value_as_it_ran(search: dict) -> None:
    out = search["tmp"] / "best.yaml"
    _cli("export", NAME, "-o", str(out), "--tracking-uri", search["uri"])
    spec = yaml.safe_load(out.read_text())
    fixed = {n: e["value"] for n, e in spec["space"].items()}
    assert fixed == search["best"]["params"]
    assert [type(fixed[n]) for n in ("order", "stage", "version")] == [int, int, str]
    assert "ok" in _cli("validate", str(out))


def test_the_api_gives_every_value_as_it_ran(search: dict) -> None:
    frame = searcher.trials(NAME, tracking_uri=search["uri"])
    assert list(frame.columns) == COLUMNS and frame.attrs["metric"] == "quality"
    for _, row in frame.iterrows():
        trial = search["ran"][row["run_id"]]
        assert row["trial"] == trial["key"] and row["score"] == trial["quality"]
        assert {n: row[f"params.{n}"] for n in PARAMS} == trial["params"]
    best, top = search["best"], searcher.best(NAME, tracking_uri=search["uri"])
    assert (top.key, top.metric, top.run_id) == (best["key"], "quality", best["run_id"])
    assert top.score == best["quality"] and top.params == best["params"]
    assert [type(top.params[n]) for n in ("order", "stage", "version")] == [int, int, str]


def test_the_report_draws_each_parameter_as_itself(search: dict) -> None:
    out = search["tmp"] / "report.html"
    _cli("report", NAME, "-o", str(out), "--tracking-uri", search["uri"])
    text = out.read_text()
    figures = embedded_figures(text)
    ran = list(search["ran"].values())
    for name in ("score", "stage", "lr"):
        xs = [x for trace in figures[name]["data"] for x in trace["x"]]
        assert sorted(xs) == pytest.approx(sorted(t["params"][name] for t in ran)), name
    ys = [y for trace in figures["score"]["data"] for y in trace["y"]]
    assert sorted(ys) == pytest.approx(sorted(t["quality"] for t in ran))
    history = figures["history"]["data"][0]
    assert sorted(history["x"]) == [1, 2, 3, 4]  # the report's order, not the param's 42
    for trial in ran:
        assert trial["key"] in text
    for value in ("not-a-status", "no error", "xyz", "0.10"):
        assert f"<td>{value}</td>" in text, value
    assert not [t for t in ran if math.isnan(t["quality"])]
