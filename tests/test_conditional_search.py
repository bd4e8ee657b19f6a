"""Conditional spaces end to end: every strategy on a real Ray into a real store; the built-in
MLP's best branch read back, exported, trained again and reported."""

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
from searcher.spec.yaml_io import load_yaml
from searcher.tracking.queries import find_search, trial_runs
from tests.conftest import WORKLOAD_DIR, base_spec, write_spec
from tests.search_spaces.test_conditional import OPTIMIZERS
from tests.workloads.branches import ACTIVE

pytestmark = pytest.mark.integration

SEARCHES: dict[str, dict[str, Any]] = {
    "random": {"strategy": "random", "seed": 1, "trials": 9},  # a seed that meets every branch
    "grid": {"strategy": "grid", "grid_points": 1},
    "optuna_tpe": {"strategy": "optuna_tpe", "seed": 2, "trials": 9},
    "coarse_to_fine": {
        "strategy": "coarse_to_fine",
        "seed": 2,
        "stages": [{"trials": 6}, {"trials": 3}],
    },
}


def _branches_spec(name: str, search: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "workload": "branches:fit",
        "code_dir": str(WORKLOAD_DIR),
        "metric": {"name": "score", "mode": "max"},
        "space": OPTIMIZERS,
        "search": search,
        "resources": {"cpu": 1, "max_concurrent": 2},
    }


@pytest.mark.parametrize("strategy", list(SEARCHES))
def test_every_strategy_runs_a_conditional_space(
    ray_local: None, tmp_path: Path, sqlite_uri: str, strategy: str
) -> None:
    spec = load_spec(write_spec(tmp_path / "s.yaml", _branches_spec(strategy, SEARCHES[strategy])))
    summary = run_search(spec, tracking_uri=sqlite_uri, out=io.StringIO())
    planned = spec.build_strategy().planned_trials
    assert summary.counts == {"FINISHED": planned}, summary.counts
    client = MlflowClient(sqlite_uri)
    runs = trial_runs(client, find_search(client, strategy))
    assert len(runs) == planned
    seen = set()
    for run in runs:
        optimizer = run.data.params["optimizer"]
        seen.add(optimizer)
        assert set(run.data.params) == ACTIVE[optimizer], run.data.params
        mirrors = {m.removeprefix("hp/") for m in run.data.metrics if m.startswith("hp/")}
        assert {m for m in mirrors if not m.startswith("log10")} <= ACTIVE[optimizer]
    assert seen == set(ACTIVE)


def test_the_best_branch_is_read_back_exported_trained_and_reported(
    ray_local: None, tmp_path: Path, sqlite_uri: str
) -> None:
    raw = base_spec("mlp_branches", tmp_path, budget={"epochs": 1})
    raw["space"] = {
        "optimizer": {
            "scale": "choice",
            "values": {
                "sgd": {
                    "lr": {"scale": "log", "low": 1e-2, "high": 0.3},
                    "momentum": {"scale": "one_minus_log", "low": 0.5, "high": 0.95},
                },
                "adam": {
                    "lr": {"scale": "log", "low": 1e-4, "high": 1e-2},
                    "beta1": {"scale": "one_minus_log", "low": 0.5, "high": 0.95},
                },
            },
        },
        "dropout": {"scale": "linear", "low": 0.0, "high": 0.3, "when": {"optimizer": "adam"}},
        "batch_size": 64,
        "hidden_units": 32,
        "hidden_layers": 1,
    }
    raw["search"] = {
        "strategy": "coarse_to_fine",
        "seed": 1,
        "stages": [{"trials": 4}, {"trials": 2}],
    }
    path = write_spec(tmp_path / "mlp.yaml", raw)
    runner = CliRunner()
    ran = runner.invoke(cli, ["run", str(path), "--tracking-uri", sqlite_uri])
    assert ran.exit_code == 0, ran.output

    table = runner.invoke(
        cli, ["trials", "mlp_branches", "--format", "json", "--tracking-uri", sqlite_uri]
    )
    rows = json.loads(table.stdout)
    assert len(rows) == 6
    for row in rows:
        adam = row["params.optimizer"] == "adam"
        assert (row["params.beta1"] is None) != adam and (row["params.dropout"] is None) != adam
        assert (row["params.momentum"] is None) == adam

    best = runner.invoke(cli, ["best", "mlp_branches", "--tracking-uri", sqlite_uri])
    assert best.exit_code == 0, best.output
    assert f"optimizer={rows[0]['params.optimizer']}" in best.output.splitlines()[-1]

    out = tmp_path / "best.yaml"
    exported = runner.invoke(
        cli, ["export", "mlp_branches", "-o", str(out), "--tracking-uri", sqlite_uri]
    )
    assert exported.exit_code == 0, exported.output
    space = load_yaml(out.read_text())["space"]
    own = {"sgd": {"momentum"}, "adam": {"beta1", "dropout"}}[rows[0]["params.optimizer"]]
    fixed = {"batch_size", "hidden_units", "hidden_layers"}
    assert set(space) == {"optimizer", "lr"} | own | fixed
    assert all(entry["scale"] == "value" for entry in space.values())  # no conditions left
    assert space["lr"]["value"] == pytest.approx(rows[0]["params.lr"])
    assert runner.invoke(cli, ["validate", str(out)]).exit_code == 0
    trained = runner.invoke(cli, ["train", str(out), "--tracking-uri", sqlite_uri])
    assert trained.exit_code == 0, trained.output

    report = tmp_path / "report.html"
    made = runner.invoke(
        cli, ["report", "mlp_branches", "-o", str(report), "--tracking-uri", sqlite_uri]
    )
    assert made.exit_code == 0, made.output
    html = report.read_text()
    adam_trials = sum(r["params.optimizer"] == "adam" for r in rows)
    assert "Branches" in html and "optimizer=adam" in html
    assert f"(in {adam_trials} of 6 trials)" in html
    client = MlflowClient(sqlite_uri)
    search_id = find_search(client, "mlp_branches").search_id
    stages = json.loads(
        Path(client.download_artifacts(search_id, "stages.json", str(tmp_path))).read_text()
    )
    assert set(stages[1]["branches"]) == {"optimizer=sgd", "optimizer=adam"}
    assert sum(b["trials"] for b in stages[1]["branches"].values()) == 2
