"""The report and the MLflow UI of a real small search, read back and rendered in Chromium."""

from __future__ import annotations

import io
import json
import math
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from searcher.cli import cli
from searcher.controller import run_search
from searcher.spec import load_spec
from searcher.tracking.queries import find_search, trial_runs
from tests.browser import ARTIFACTS, dump_dom, needs_chromium, screenshot, visible_text
from tests.conftest import TwoStageSearch, base_spec, write_spec
from tests.http_utils import free_port, get_json, post_json, wait_for
from tests.report_pages import embedded_figures

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def searches(two_stage_search: TwoStageSearch, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The shared two-stage search over every kind of axis, and a small random one beside it."""
    tmp = tmp_path_factory.mktemp("dash")
    uri = two_stage_search.uri
    raw = base_spec("rand_dash", tmp, search={"strategy": "random", "seed": 5, "trials": 3})
    raw["budget"] = {"epochs": 1}
    run_search(load_spec(write_spec(tmp / "rand.yaml", raw)), tracking_uri=uri, out=io.StringIO())
    return {"tmp": tmp, "uri": uri, "name": two_stage_search.name}


def make_report(searches: dict, names: list[str], output: Path) -> dict[str, dict]:
    """Run `searcher report` and return the figures embedded in the page, by name."""
    result = CliRunner().invoke(
        cli, ["report", *names, "-o", str(output), "--tracking-uri", searches["uri"]]
    )
    assert result.exit_code == 0, result.output
    return embedded_figures(output.read_text())


@pytest.fixture(scope="module")
def report(searches: dict) -> dict:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "report_c2f.html"
    return {"path": path, "figures": make_report(searches, [searches["name"]], path)}


def test_report_draws_each_parameter_on_its_sampling_axis(report: dict) -> None:
    figures = report["figures"]
    assert {"lr", "beta1", "batch_size", "dropout", "batch_norm"} <= set(figures)
    lr = figures["lr"]["layout"]["xaxis"]
    assert lr["type"] == "log"
    assert lr["range"] == pytest.approx([math.log10(1e-4), math.log10(3e-2)], abs=0.15)

    beta = figures["beta1"]["layout"]["xaxis"]
    assert beta["type"] == "log"
    assert beta["range"][0] > beta["range"][1], "1-β runs reversed: larger β to the right"
    assert beta["ticktext"] == ["0.5", "0.9", "0.95", "0.99"]
    assert beta["tickvals"] == pytest.approx([0.5, 0.1, 0.05, 0.01])
    xs = figures["beta1"]["data"][0]["x"]
    assert all(0.01 <= x <= 0.5 for x in xs), "points are plotted at 1-β"

    batch = figures["batch_size"]["layout"]["xaxis"]
    assert (batch["type"], batch["ticktext"]) == ("log", ["32", "64", "128"])
    assert figures["dropout"]["layout"]["xaxis"]["type"] == "linear"
    norm = figures["batch_norm"]["layout"]["xaxis"]
    assert (norm["tickvals"], norm["ticktext"]) == ([0, 1], ["False", "True"])
    jittered = [x for trace in figures["batch_norm"]["data"] for x in trace["x"]]
    assert any(x != round(x) for x in jittered) and all(abs(x - round(x)) < 0.2 for x in jittered)


def test_report_shades_the_stage_boxes_and_tabulates_them(searches: dict, report: dict) -> None:
    client = MlflowClient(searches["uri"])
    search = find_search(client, searches["name"])
    box = json.loads(search.run.data.tags["searcher.stage.2.box"])
    lo, hi = box["intervals"]["dropout"]
    shapes = report["figures"]["dropout"]["layout"]["shapes"]
    assert [(s["x0"], s["x1"]) for s in shapes] == [pytest.approx((lo * 0.5, hi * 0.5))]
    assert shapes[0]["label"]["text"] == "stage 2 box"
    text = report["path"].read_text()
    ranges = json.loads(search.run.data.tags["searcher.stage.2.ranges"])
    assert f"<td>{ranges['lr']}</td>" in text
    assert f"<td>{search.run.data.tags['searcher.best_run_id']}</td>" in text
    for warning in search.run.data.tags.get("searcher.warnings", "").splitlines():
        assert warning in text


def test_report_has_history_curves_parallel_and_importance(searches: dict, report: dict) -> None:
    figures = report["figures"]
    history = figures["history"]
    orders = sorted(x for t in history["data"] if t["mode"] == "markers" for x in t["x"])
    assert orders == list(range(1, 11))
    assert [s["label"]["text"] for s in history["layout"]["shapes"]] == ["stage 2"]
    assert any(t["name"].startswith("best so far") for t in history["data"])

    curves = figures["curves"]["data"]
    assert len(curves) == 5 and all(t["x"] == [1, 2] for t in curves)

    dims = figures["parallel"]["data"][0]["dimensions"]
    lr = next(d for d in dims if d["label"] == "lr")
    assert lr["range"] == [0, 1] and lr["ticktext"][0] == "0.0001"
    assert all(0 <= v <= 1 for v in lr["values"])

    bars = figures["importance"]["data"][0]
    assert set(bars["x"]) == {"lr", "beta1", "batch_size", "dropout", "batch_norm"}
    assert sum(bars["y"]) == pytest.approx(1.0, abs=1e-6)
    assert "<script src" not in report["path"].read_text(), "everything is inline"


@needs_chromium
def test_report_renders_in_headless_chromium_without_network(report: dict) -> None:
    url = report["path"].as_uri()
    dom = dump_dom(url, offline=True)
    assert dom.count('class="plot-container plotly"') == len(report["figures"])
    assert dom.count('class="main-svg"') >= 2 * len(report["figures"])
    for label in ("lr (log axis)", "1−β log axis, labelled in β", "Optimisation history"):
        assert label in dom
    assert ">0.99<" in dom, "the β axis is labelled in β"
    shot = screenshot(url, "report_c2f.png", offline=True, height=5400)
    assert shot.stat().st_size > 50_000


@needs_chromium
def test_compare_report_overlays_two_searches(searches: dict) -> None:
    path = ARTIFACTS / "report_compare.html"
    c2f = searches["name"]
    figures = make_report(searches, [c2f, "rand_dash"], path)
    names = {t["name"] for t in figures["lr"]["data"]}
    assert any(n.startswith(c2f) for n in names)
    assert any(n.startswith("rand_dash") for n in names)
    assert "dropout" in figures, "parameters of either search are drawn"
    history = {t["name"] for t in figures["history"]["data"]}
    assert {f"best so far ({c2f})", "best so far (rand_dash)"} <= history
    dom = dump_dom(path.as_uri(), offline=True)
    assert dom.count('class="plot-container plotly"') == len(figures)
    screenshot(path.as_uri(), "report_compare.png", offline=True, height=5400)


def test_report_of_an_unknown_search_is_one_line_and_exit_2(searches: dict, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        cli, ["report", "nope", "-o", str(out), "--tracking-uri", searches["uri"]]
    )
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    said, found = line.split("; found: ")
    assert said == "error: no experiment named 'nope' in the store"
    # The store is shared with other modules' tests, which may add experiments of their own.
    names = found.split(", ")
    assert names == sorted(names) and {searches["name"], "rand_dash"} <= set(names)
    assert not out.exists()


@pytest.fixture(scope="module")
def ui_server(searches: dict) -> Iterator[dict]:
    """`searcher ui` of the two-stage search over the shared store, stopped with Ctrl-C."""
    db = searches["uri"].removeprefix("sqlite:///")
    port = free_port()
    log_path = searches["tmp"] / "ui.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "searcher.cli", "ui", searches["name"], "--port", str(port)]
        + ["--tracking-uri", db],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/health", proc, timeout=120)
        yield {"base": base, "log": log_path, "proc": proc}
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
        log.close()
    assert code == 0, log_path.read_text()[-2000:]


def _printed_links(ui_server: dict) -> list[str]:
    for _ in range(120):
        lines = [ln for ln in ui_server["log"].read_text().splitlines() if "/#/experiments/" in ln]
        if len(lines) >= 2:
            return lines
        time.sleep(0.5)
    raise AssertionError(ui_server["log"].read_text()[-2000:])


def test_ui_prints_the_experiment_page_and_lists_its_runs(searches: dict, ui_server: dict) -> None:
    base = ui_server["base"]
    exp = get_json(
        f"{base}/api/2.0/mlflow/experiments/get-by-name?experiment_name={searches['name']}"
    )
    exp_id = exp["experiment"]["experiment_id"]
    search = find_search(MlflowClient(searches["uri"]), searches["name"])
    lines = _printed_links(ui_server)
    assert lines[0] == f"experiment {searches['name']}: {base}/#/experiments/{exp_id}/runs"
    assert lines[1].endswith(f"{base}/#/experiments/{exp_id}/runs/{search.search_id}")
    found = post_json(
        f"{base}/api/2.0/mlflow/runs/search", {"experiment_ids": [exp_id], "max_results": 100}
    )
    parents = [r for r in found["runs"] if r["info"]["run_id"] == search.search_id]
    children = [r for r in found["runs"] if r["info"]["run_id"] != search.search_id]
    assert len(parents) == 1 and len(children) == 10
    tags = {t["key"]: t["value"] for t in children[0]["data"]["tags"]}
    assert tags["mlflow.parentRunId"] == search.search_id


@needs_chromium
def test_ui_page_shows_the_search_and_its_trials(searches: dict, ui_server: dict) -> None:
    client = MlflowClient(searches["uri"])
    search = find_search(client, searches["name"])
    page = _printed_links(ui_server)[0].split(": ", 1)[1]
    text = visible_text(dump_dom(page, budget_ms=30000))
    assert search.run.info.run_name in text
    assert "11 matching runs" in text  # the parent and its ten trials
    screenshot(page, "mlflow_ui_experiment.png", budget_ms=30000)
    child = next(r for r in trial_runs(client, search) if r.info.run_name == "2-003")
    child_page = f"{page}/{child.info.run_id}"
    text = visible_text(dump_dom(child_page, budget_ms=30000))
    assert "2-003" in text and "val_accuracy" in text
    screenshot(child_page, "mlflow_ui_trial.png", budget_ms=30000)
