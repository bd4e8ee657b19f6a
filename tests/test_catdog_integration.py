"""End to end on a real local Ray: a catdog_cnn search into the store; export then train."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from searcher.cli import cli
from searcher.controller import run_search
from searcher.spec import load_spec
from searcher.tracking.queries import find_search, trial_runs
from tests.conftest import base_spec, write_spec
from tests.image_fixtures import write_pets

pytestmark = pytest.mark.integration
CATDOG = str(Path(__file__).parent.parent / "spaces" / "catdog_cnn.yaml")


def test_catdog_search_through_ray(ray_local: None, tmp_path: Path, sqlite_uri: str) -> None:
    write_pets(tmp_path / "pets", "kaggle", per_class=16)
    overrides = [
        f"data.root={tmp_path / 'pets'}",
        f"data.cache_dir={tmp_path / 'cache'}",
        "data.image_size=24",
        "budget.epochs=2",
        "space.channels=4",
        "space.blocks=2",
        "search={strategy: random, seed: 0, trials: 3}",
    ]
    spec = load_spec(CATDOG, overrides)
    uri = sqlite_uri
    out = io.StringIO()
    summary = run_search(spec, tracking_uri=uri, out=out)
    assert "skipped 1 corrupt" in out.getvalue() and "cache built" in out.getvalue()
    assert summary.counts == {"FINISHED": 3}
    client = MlflowClient(uri)
    search = find_search(client, "catdog_cnn")
    assert search.run.data.tags["searcher.data_source"] == "image_cache"
    runs = trial_runs(client, search)
    assert len(runs) == 3
    for run in runs:
        history = client.get_metric_history(run.info.run_id, "val_accuracy")
        assert [m.step for m in history] == [1, 2]
        assert {"train_loss", "val_loss"} <= set(run.data.metrics)
    # Workers memory-mapped the driver's one cache; nothing else was written.
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1


def test_export_then_train_mnist(ray_local: None, tmp_path: Path, sqlite_uri: str) -> None:
    uri = sqlite_uri
    raw = base_spec("exported_it", tmp_path, budget={"epochs": 1})
    run_search(load_spec(write_spec(tmp_path / "s.yaml", raw)), tracking_uri=uri, out=io.StringIO())
    runner = CliRunner()
    best = tmp_path / "best.yaml"
    exported = runner.invoke(cli, ["export", "exported_it", "-o", str(best), "--tracking-uri", uri])
    assert exported.exit_code == 0, exported.output
    args = ["train", str(best), "--set", "budget.epochs=2", "--tracking-uri", uri]
    result = runner.invoke(cli, [*args, "--save", str(tmp_path / "m.pt")])
    assert result.exit_code == 0, result.output
    assert "note:" not in result.output  # an exported spec has nothing left to tune
    assert "epoch 2/2" in result.output and (tmp_path / "m.pt").is_file()
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("exported_it_best")
    (run,) = client.search_runs([exp.experiment_id], "tags.`searcher.kind` = 'train'")
    assert run.info.status == "FINISHED" and run.data.metrics["val_accuracy"] > 0.5
